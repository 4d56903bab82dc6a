//! Page layout, escaping, links, and the embedded style sheet and script.

pub use axum::response::Html;

/// The style sheet (`/static/style.css`).
pub const STYLE: &str = include_str!("assets/style.css");
/// The script every page loads (`/static/app.js`): table filters, tooltips.
pub const SCRIPT: &str = include_str!("assets/app.js");

/// `text` safe inside HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` percent-encoded for a URL's query or path.
pub fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?k=v&…` from query pairs.
pub fn link(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    format!("{path}?{}", query.join("&"))
}

/// `pairs` with every `key` replaced by `value` (`None`: removed).
pub fn with(pairs: &[(String, String)], changes: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).cloned().collect();
    for (k, v) in changes {
        if let Some(v) = v {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

const NAV: [(&str, &str); 6] = [
    ("/table", "Benchmark"),
    ("/tradeoffs", "Trade-offs"),
    ("/runs", "Runs"),
    ("/search", "Search"),
    ("/sql", "SQL"),
    ("/arch/2581", "An architecture"),
];

/// A whole page: `title`, the navigation (`current` highlighted) and `body`.
pub fn page(title: &str, current: &str, body: &str) -> String {
    let nav: Vec<String> = NAV
        .iter()
        .map(|(href, name)| {
            let class = if *href == current { " class=\"current\"" } else { "" };
            format!("<a href=\"{href}\"{class}>{name}</a>")
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · robbench</title><link rel=\"stylesheet\" href=\"/static/style.css\">\
         <script src=\"/static/app.js\" defer></script></head>\n<body>\
         <nav><span class=\"brand\">robbench</span>{}</nav>\n<main>\n{body}\n</main></body></html>\n",
        esc(title),
        nav.join("")
    )
}

/// A value for a table cell: 4 decimals for fractions, 4 significant digits otherwise.
pub fn value(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.abs() <= 1.0 {
        format!("{v:.4}")
    } else if v.abs() >= 1e5 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{:.*}", 3usize.saturating_sub(v.abs().log10().floor() as usize), v)
    }
}

/// A parameter count: `1.53 M`.
pub fn params(n: u64) -> String {
    format!("{:.3} M", n as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_links_are_escaped() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let pairs = vec![("min.cifar10:pgd@8".to_string(), "0.4".to_string())];
        assert_eq!(link("/table", &pairs), "/table?min.cifar10%3Apgd%408=0.4");
        assert_eq!(with(&pairs, &[("page", Some("2"))]).len(), 2);
        assert!(with(&pairs, &[("min.cifar10:pgd@8", None)]).is_empty());
    }

    #[test]
    fn values_are_short() {
        assert_eq!(value(0.48113), "0.4811");
        assert_eq!(value(f64::NAN), "–");
        assert_eq!(value(1234.5678), "1235");
        assert_eq!(value(12.345678), "12.35");
        assert_eq!(value(220.1197), "220.1");
    }
}
