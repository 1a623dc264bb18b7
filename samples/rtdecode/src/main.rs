//! rtdecode: report, stats, validate and export rust_trace captures.
//!
//! Argument parsing only; the library does the work.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use rtdecode::format::EVENT_NAMES;
use rtdecode::stream::{open_input, CutIn, DecodeError, ErrorKind, Timeline};
use rtdecode::{explain, ftrace, perfetto, record, report, stats, validate};

/// Decode a capture written by `cat /dev/rust_trace > FILE`.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Exit 1 when a capture ends before its footer (report, stats,
    /// perfetto, ftrace-diff decode what precedes the cut in any case).
    #[arg(long, global = true)]
    strict: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

/// Groups `stats` sums tasks by, besides processes.
#[derive(Clone, Copy, ValueEnum)]
enum GroupBy {
    /// The task's cgroup v2.
    Cgroup,
}

/// Perfetto export formats.
#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// Perfetto protobuf (ui.perfetto.dev).
    Proto,
    /// Chrome JSON (chrome://tracing, ui.perfetto.dev).
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Record a capture: set the filter, start a session on the device,
    /// write the stream to a file; with a command, run it, follow it and
    /// its children, and stop when it exits (exiting with its status).
    /// Ctrl-C (SIGINT) or SIGTERM stops the session cleanly: the file ends
    /// with its footer. Leaves the module with no filter.
    Record {
        /// Output file, or - for standard output.
        #[arg(short, long, default_value = "rust_trace.rtt")]
        output: PathBuf,
        /// Record these tasks and the tasks they fork (comma-separated PIDs).
        #[arg(long, value_delimiter = ',')]
        pid: Vec<u32>,
        /// Record every thread of these processes (comma-separated TGIDs).
        #[arg(long, value_delimiter = ',')]
        tgid: Vec<u32>,
        /// Record the tasks in this cgroup v2 directory or below (a path in
        /// the cgroup2 mount, or relative to its root).
        #[arg(long)]
        cgroup: Option<PathBuf>,
        /// Record only these event types: switch, wakeup, wakeup_new,
        /// fork, exit, exec, migrate (comma-separated), or all.
        #[arg(long)]
        events: Option<String>,
        /// The device.
        #[arg(long, default_value = "/dev/rust_trace")]
        device: PathBuf,
        /// Flight record: keep only the recent past in the module's
        /// buffers, and write one snapshot of it when the command ends (or
        /// on Ctrl-C).
        #[arg(long)]
        flight: bool,
        /// With --flight: arm the latency trigger; the snapshot it takes
        /// when a task waits more than this many microseconds to run is
        /// the one written.
        #[arg(long, value_name = "US", requires = "flight")]
        trigger: Option<u64>,
        /// The command to run and record, after `--`.
        #[arg(last = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// One line per event, merged across CPUs by time.
    Report {
        /// Capture file, or - for standard input.
        file: PathBuf,
    },
    /// Per-CPU, per-task and per-process statistics and wakeup latencies.
    Stats {
        /// Capture file, or - for standard input.
        file: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Tasks (and processes, cgroups) to list, by run time.
        #[arg(long, default_value_t = 15)]
        top: usize,
        /// Also sum the tasks by this (processes are always summed).
        #[arg(long, value_enum)]
        by: Option<GroupBy>,
        /// Name cgroups by their paths under this mounted cgroup2 (the
        /// live system's, e.g. /sys/fs/cgroup).
        #[arg(long)]
        cgroup_root: Option<PathBuf>,
        /// Name cgroups from this file of `ID PATH` lines.
        #[arg(long)]
        cgroup_map: Option<PathBuf>,
    },
    /// Why a task did not run at once: a snapshot's trigger, or a task's
    /// wait (its longest, or the one at --at).
    Explain {
        /// Capture file, or - for standard input.
        file: PathBuf,
        /// The task (default: the one the snapshot's trigger names).
        #[arg(long)]
        pid: Option<u32>,
        /// The wait of --pid that ends at or after this time (seconds from
        /// the capture's start, as `report` shows them); default: its
        /// longest.
        #[arg(long, requires = "pid")]
        at: Option<f64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export to a Perfetto trace (ui.perfetto.dev) or Chrome JSON.
    Perfetto {
        /// Capture file, or - for standard input.
        file: PathBuf,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Proto)]
        format: ExportFormat,
    },
    /// Check the stream against every rule of the format; exit 1 on a violation.
    Validate {
        /// Capture file, or - for standard input.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare a capture event by event with ftrace's text output of the
    /// same run (same tracepoints, trace_clock perf); exit 1 on an event
    /// ftrace lacks, a missing event no reported loss explains, or a wrong
    /// task name.
    FtraceDiff {
        /// Capture file.
        file: PathBuf,
        /// ftrace's `trace` file, saved after the run.
        ftrace: PathBuf,
        /// The window starts where a task renames itself to this name.
        #[arg(long)]
        begin_mark: Option<String>,
        /// The window ends where a task renames itself to this name.
        #[arg(long)]
        end_mark: Option<String>,
        /// The capture was filtered with `filter pid` on these PIDs
        /// (comma-separated): expect only their events and their
        /// children's, forks followed.
        #[arg(long, value_delimiter = ',', conflicts_with = "filter_tids")]
        filter_pids: Vec<u32>,
        /// Expect only the events of these tasks (comma-separated), forks
        /// not followed (the threads of a `filter tgid`, for example).
        #[arg(long, value_delimiter = ',')]
        filter_tids: Vec<u32>,
        /// The capture recorded only these event types (`events` command
        /// names, comma-separated).
        #[arg(long, value_delimiter = ',')]
        filter_events: Vec<String>,
        /// Events this close (microseconds) to a window edge are not
        /// judged.
        #[arg(long, default_value_t = 1000)]
        margin_us: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the JSON to this file (the table is printed).
        #[arg(long, value_name = "FILE", conflicts_with = "json")]
        json_file: Option<PathBuf>,
    },
}

/// Opens a capture for the time-ordered commands. `Ok(None)`: the stream
/// was cut inside its header, there is nothing to decode (said on stderr).
fn timeline(file: &Path) -> Result<Option<Timeline>> {
    let name = file.display();
    match Timeline::open(open_input(file)?) {
        Ok(tl) => Ok(Some(tl)),
        Err(DecodeError {
            kind: ErrorKind::Cut(c),
            ..
        }) if c.within == CutIn::Header => {
            eprintln!("rtdecode: {name}: {c}");
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("reading {name}")),
    }
}

/// Says on stderr where a capture was cut; whether it was.
fn report_cut(file: &Path, tl: &Timeline) -> bool {
    match tl.cut() {
        Some(c) => {
            eprintln!(
                "rtdecode: {}: at byte {}: {}; every record before it was decoded",
                file.display(),
                c.offset,
                c
            );
            true
        }
        None => false,
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let cut = match cli.cmd {
        Cmd::Record {
            output,
            pid,
            tgid,
            cgroup,
            events,
            device,
            flight,
            trigger,
            command,
        } => {
            let code = record::record(&record::Options {
                device,
                output,
                pids: pid,
                tgids: tgid,
                cgroup,
                events,
                command,
                flight,
                trigger_us: trigger,
            })?;
            return Ok(ExitCode::from(code.clamp(0, 255) as u8));
        }
        Cmd::Report { file } => {
            let Some(mut tl) = timeline(&file)? else {
                return Ok(cut_exit(cli.strict, true));
            };
            let cut = report_cut(&file, &tl);
            report::report(&mut tl, &mut out)?;
            cut
        }
        Cmd::Stats {
            file,
            json,
            top,
            by,
            cgroup_root,
            cgroup_map,
        } => {
            let Some(mut tl) = timeline(&file)? else {
                return Ok(cut_exit(cli.strict, true));
            };
            let cut = report_cut(&file, &tl);
            let mut g = stats::Grouping {
                by_cgroup: matches!(by, Some(GroupBy::Cgroup)),
                ..Default::default()
            };
            if let Some(root) = cgroup_root {
                g.cgroup_paths.extend(stats::cgroup_paths(&root));
            }
            if let Some(map) = cgroup_map {
                let text = std::fs::read_to_string(&map)
                    .with_context(|| format!("reading {}", map.display()))?;
                g.cgroup_paths.extend(stats::read_cgroup_map(&text));
            }
            let s = stats::stats_grouped(&mut tl, &g)
                .with_context(|| format!("reading {}", file.display()))?;
            if json {
                serde_json::to_writer_pretty(&mut out, &s)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", stats::render(&s, top))?;
            }
            cut
        }
        Cmd::Explain {
            file,
            pid,
            at,
            json,
        } => {
            let Some(mut tl) = timeline(&file)? else {
                return Ok(cut_exit(cli.strict, true));
            };
            let cut = report_cut(&file, &tl);
            let start = tl.header().start_ns;
            let target = explain::Target {
                pid,
                at: at.map(|s| start.saturating_add((s * 1e9) as u64)),
            };
            let e = explain::explain(&mut tl, target)
                .with_context(|| format!("explaining {}", file.display()))?;
            if json {
                serde_json::to_writer_pretty(&mut out, &e)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", e.render())?;
            }
            cut
        }
        Cmd::Perfetto {
            file,
            output,
            format,
        } => {
            let tl = timeline(&file)?;
            let f =
                File::create(&output).with_context(|| format!("creating {}", output.display()))?;
            let mut w = BufWriter::new(f);
            let Some(mut tl) = tl else {
                w.flush()?;
                return Ok(cut_exit(cli.strict, true));
            };
            let cut = report_cut(&file, &tl);
            let n = match format {
                ExportFormat::Proto => perfetto::write_proto(&mut tl, &mut w)?,
                ExportFormat::Json => perfetto::write_json(&mut tl, &mut w)?,
            };
            w.flush()?;
            let what = match format {
                ExportFormat::Proto => "proto",
                ExportFormat::Json => "json",
            };
            eprintln!("{}: {n} events ({what})", output.display());
            cut
        }
        Cmd::Validate { file, json } => {
            let input: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(io::stdin().lock())
            } else {
                let f = File::open(&file).with_context(|| format!("opening {}", file.display()))?;
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
                write!(out, "{}", validate::render(&s, &file.display().to_string()))?;
            }
            out.flush()?;
            return Ok(if s.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Cmd::FtraceDiff {
            file,
            ftrace: ftrace_file,
            begin_mark,
            end_mark,
            filter_pids,
            filter_tids,
            filter_events,
            margin_us,
            json,
            json_file,
        } => {
            let Some(mut tl) = timeline(&file)? else {
                anyhow::bail!("{}: nothing to compare", file.display());
            };
            let cut = report_cut(&file, &tl);
            let f = File::open(&ftrace_file)
                .with_context(|| format!("opening {}", ftrace_file.display()))?;
            let ft = ftrace::parse(io::BufReader::new(f))
                .with_context(|| format!("reading {}", ftrace_file.display()))?;
            let opt = ftrace::Options {
                begin_mark,
                end_mark,
                rule: diff_rule(filter_pids, filter_tids, &filter_events)?,
                margin_ns: margin_us.saturating_mul(1000),
                ..Default::default()
            };
            let d = ftrace::diff(&mut tl, &ft, &opt)?;
            if let Some(path) = json_file {
                let mut f =
                    File::create(&path).with_context(|| format!("creating {}", path.display()))?;
                serde_json::to_writer_pretty(&mut f, &d)?;
                writeln!(f)?;
            }
            if json {
                serde_json::to_writer_pretty(&mut out, &d)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", d.render())?;
            }
            out.flush()?;
            if !d.ok() {
                return Ok(ExitCode::FAILURE);
            }
            cut
        }
    };
    out.flush()?;
    Ok(cut_exit(cli.strict, cut))
}

/// The filter rule `ftrace-diff` applies to ftrace's events, if any.
fn diff_rule(pids: Vec<u32>, tids: Vec<u32>, events: &[String]) -> Result<Option<ftrace::Rule>> {
    if pids.is_empty() && tids.is_empty() && events.is_empty() {
        return Ok(None);
    }
    let mut rule = ftrace::Rule {
        follow_forks: !pids.is_empty(),
        ..Default::default()
    };
    if !pids.is_empty() || !tids.is_empty() {
        rule.pids = Some(pids.into_iter().chain(tids).collect());
    }
    if !events.is_empty() {
        rule.events = 0;
        for e in events {
            let (ty, _) = EVENT_NAMES
                .iter()
                .find(|(_, n)| n == e)
                .with_context(|| format!("unknown event type {e:?}"))?;
            rule.events |= 1 << ty;
        }
    }
    Ok(Some(rule))
}

/// Exit status once a capture was decoded: 1 if it was cut and `--strict`.
fn cut_exit(strict: bool, cut: bool) -> ExitCode {
    if strict && cut {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
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
