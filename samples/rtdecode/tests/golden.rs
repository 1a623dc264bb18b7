//! Golden files: the text `report` and `stats` print for a synthetic
//! stream with every event type and for a real guest capture, pinned in
//! tests/golden/. A change of output must be a change of these files, seen
//! in review. `RTDECODE_BLESS=1 cargo test --test golden` rewrites them.

use std::io::Cursor;
use std::path::PathBuf;

use rtdecode::stream::Timeline;
use rtdecode::{report, stats};

mod common;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `got` with the golden file `name`, or writes it when blessing.
fn check(name: &str, got: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("RTDECODE_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (RTDECODE_BLESS=1 writes it)", path.display()));
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{name}: first difference at line {}", i + 1);
        }
        assert_eq!(
            got.lines().count(),
            want.lines().count(),
            "{name}: line count"
        );
    }
}

/// The report and the stats table of `bytes`, checked against
/// `<stem>.report.txt` and `<stem>.stats.txt`.
fn check_capture(stem: &str, bytes: Vec<u8>) {
    let mut tl = Timeline::open(Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    report::report(&mut tl, &mut out).unwrap();
    check(
        &format!("{stem}.report.txt"),
        &String::from_utf8(out).unwrap(),
    );
    let s = stats::stats(&mut tl).unwrap();
    check(&format!("{stem}.stats.txt"), &stats::render(&s, 15));
}

#[test]
fn every_event_type_reports_and_sums_as_pinned() {
    check_capture("sample", common::sample());
}

#[test]
fn a_guest_capture_reports_and_sums_as_pinned() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/guest-spawn.rtt");
    check_capture("guest-spawn", std::fs::read(path).unwrap());
}

#[test]
fn a_version_2_capture_reports_processes_and_its_filter_as_pinned() {
    check_capture("sample-v2", common::sample_v2());
}
