//! A clone is self-sufficient: nothing in the project refers to the
//! development-only directory beside the checkout.

use std::path::Path;

/// Spelled in two parts so that this file does not match itself.
const FORBIDDEN: &str = concat!("..", "/shared");

fn visit(dir: &Path, hits: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            // Build output, version control and stores are not the project's text.
            if !["target", ".git", "artifacts", "data"].contains(&name.as_str()) {
                visit(&path, hits);
            }
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            for (n, line) in text.lines().enumerate() {
                if line.contains(FORBIDDEN) {
                    hits.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
}

#[test]
fn no_test_config_script_or_document_refers_to_the_development_only_data_directory() {
    let mut hits = Vec::new();
    visit(Path::new(env!("CARGO_MANIFEST_DIR")), &mut hits);
    assert!(hits.is_empty(), "use the shipped copies in data/ instead:\n{}", hits.join("\n"));
}
