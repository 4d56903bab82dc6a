//! The NAS-RobBench-201 project page ships its data as JavaScript assignments
//! (`acc={...}`, `arch=[...]`); this strips the assignment to leave the JSON.

/// Returns the JSON right-hand side of `name=<json>` (whitespace around the
/// parts and a trailing `;` allowed), or `None` when `text` is not such an
/// assignment.
pub fn strip_assignment<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let rest = text.trim_start().strip_prefix(name)?.trim_start().strip_prefix('=')?;
    let rest = rest.trim();
    Some(rest.strip_suffix(';').unwrap_or(rest).trim_end())
}

#[cfg(test)]
mod tests {
    use super::strip_assignment;

    #[test]
    fn strips_name_and_semicolon() {
        assert_eq!(strip_assignment("acc={\"a\": 1}", "acc"), Some("{\"a\": 1}"));
        assert_eq!(strip_assignment(" arch = [\"012\"];\n", "arch"), Some("[\"012\"]"));
        assert_eq!(strip_assignment("arch=[1]", "acc"), None);
        assert_eq!(strip_assignment("{\"a\": 1}", "acc"), None);
    }
}
