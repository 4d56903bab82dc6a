//! What the light commands share with `robbench serve`, which they hand
//! over to: the run a reading command uses, and writing to stdout.

/// Which run a reading command uses.
#[derive(clap::Args, Clone, Default)]
pub struct RunArgs {
    /// A run id (`robbench runs` lists them) instead of the latest complete run.
    #[arg(long)]
    pub run: Option<String>,
    /// Answer even when units of the run are missing (they are listed on stderr).
    #[arg(long)]
    pub allow_partial: bool,
}

/// Writes a line to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn say(line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
