//! rtdecode: report, stats and validate rust_trace captures.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use rtdecode::stream::{open_input, Timeline};
use rtdecode::{perfetto, report, stats, validate};

/// Decode a capture written by `cat /dev/rust_trace > FILE`.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// One line per event, merged across CPUs by time.
    Report {
        /// Capture file, or - for standard input.
        file: String,
    },
    /// Per-CPU and per-task statistics and wakeup latencies.
    Stats {
        /// Capture file, or - for standard input.
        file: String,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Tasks to list (by run time).
        #[arg(long, default_value_t = 15)]
        top: usize,
    },
    /// Export to a Perfetto trace (ui.perfetto.dev) or Chrome JSON.
    Perfetto {
        /// Capture file, or - for standard input.
        file: String,
        /// Output file.
        #[arg(short, long)]
        output: String,
        /// `proto` (Perfetto protobuf) or `json` (Chrome JSON).
        #[arg(long, default_value = "proto")]
        format: String,
    },
    /// Check the stream against every rule of the format; exit 1 on a violation.
    Validate {
        /// Capture file, or - for standard input.
        file: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn run(cli: Cli) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match cli.cmd {
        Cmd::Report { file } => {
            let mut tl =
                Timeline::open(open_input(&file)?).with_context(|| format!("reading {file}"))?;
            report::report(&mut tl, &mut out)?;
        }
        Cmd::Stats { file, json, top } => {
            let mut tl =
                Timeline::open(open_input(&file)?).with_context(|| format!("reading {file}"))?;
            let s = stats::stats(&mut tl).with_context(|| format!("reading {file}"))?;
            if json {
                serde_json::to_writer_pretty(&mut out, &s)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", stats::render(&s, top))?;
            }
        }
        Cmd::Perfetto {
            file,
            output,
            format,
        } => {
            let mut tl =
                Timeline::open(open_input(&file)?).with_context(|| format!("reading {file}"))?;
            let f = File::create(&output).with_context(|| format!("creating {output}"))?;
            let mut w = BufWriter::new(f);
            let n = match format.as_str() {
                "proto" => perfetto::write_proto(&mut tl, &mut w)?,
                "json" => perfetto::write_json(&mut tl, &mut w)?,
                other => anyhow::bail!("unknown format {other:?}: proto or json"),
            };
            w.flush()?;
            eprintln!("{output}: {n} events ({format})");
        }
        Cmd::Validate { file, json } => {
            let input: Box<dyn Read> = if file == "-" {
                Box::new(io::stdin().lock())
            } else {
                let f = File::open(&file).with_context(|| format!("opening {file}"))?;
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                Box::new(rtdecode::progress::ProgressReader::new(
                    f,
                    "validating",
                    size,
                ))
            };
            let s = validate::validate(io::BufReader::with_capacity(1 << 20, input));
            if json {
                serde_json::to_writer_pretty(&mut out, &s)?;
                writeln!(out)?;
            } else {
                let lost = s.cpus.iter().fold(0u64, |a, c| a.saturating_add(c.lost));
                let sw: u64 = s.cpus.iter().map(|c| c.switches).sum();
                let swb: u64 = s.cpus.iter().map(|c| c.switch_bytes).sum();
                writeln!(
                    out,
                    "{file}: {} bytes, {} CPUs, {} events, {} lost, footer {}",
                    s.bytes,
                    s.nr_cpus,
                    s.events,
                    lost,
                    if s.footer { "present" } else { "MISSING" }
                )?;
                if sw > 0 {
                    writeln!(
                        out,
                        "sched_switch: {sw} events, {:.2} bytes each",
                        swb as f64 / sw as f64
                    )?;
                }
                for v in &s.violations {
                    writeln!(out, "VIOLATION at byte {}: {}", v.offset, v.what)?;
                }
                writeln!(out, "{}", if s.ok() { "valid" } else { "INVALID" })?;
            }
            out.flush()?;
            return Ok(if s.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(c) => c,
        // `rtdecode report out | head`: the reader went away, which is fine.
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rtdecode: {e:#}");
            ExitCode::from(2)
        }
    }
}
