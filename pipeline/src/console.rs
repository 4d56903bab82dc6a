//! Messages for the user on stderr.

use std::io::Write;

/// Writes a line to stderr. A closed stderr (`2>&1 | head`) loses the line
/// but never the work: unlike `eprintln!`, this does not panic.
pub fn note(line: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(line).and_then(|()| err.write_all(b"\n"));
}
