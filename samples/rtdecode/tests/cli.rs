//! The `rtdecode` binary on captures cut short: a crash, a full disk, a
//! reader killed between two partial reads, `head -c`. Every complete batch
//! before the cut is decoded, stderr says where and why the stream ends,
//! and the exit status is 0 (1 with `--strict`); `validate` still fails.

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;

/// The sample stream (three batches of 7, 6 and 1 events, then a footer)
/// and the offsets of its batches.
fn stream() -> (Vec<u8>, [usize; 3]) {
    common::sample_with_offsets()
}

/// Writes `bytes` to a fresh file named after `tag`.
fn file(tag: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("rtdecode-cli-{}-{tag}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn rtdecode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `report`, `stats` and `perfetto` on `bytes` cut at `cut`; each must
/// exit 0, decode `events` events and say `why` on stderr.
fn decodes_up_to_the_cut(tag: &str, bytes: &[u8], cut: usize, events: usize, why: &str) {
    let path = file(tag, &bytes[..cut]);
    let p = path.to_str().unwrap();
    let out = rtdecode(&["report", p]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{tag}: report: {err}");
    assert!(err.contains(why), "{tag}: report stderr: {err}");
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, events, "{tag}: report lines");

    let out = rtdecode(&["stats", "--json", p]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{tag}: stats: {err}");
    assert!(err.contains(why), "{tag}: stats stderr: {err}");
    if events > 0 {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["events"], events as u64, "{tag}: stats events");
    }

    let export = format!("{p}.pftrace");
    let out = rtdecode(&["perfetto", p, "-o", &export]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{tag}: perfetto: {err}");
    assert!(err.contains(why), "{tag}: perfetto stderr: {err}");
    assert!(std::path::Path::new(&export).exists());

    let out = rtdecode(&["--strict", "report", p]);
    assert_eq!(out.status.code(), Some(1), "{tag}: --strict must fail");
    let out = rtdecode(&["validate", p]);
    assert_eq!(out.status.code(), Some(1), "{tag}: validate must fail");
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(&export).unwrap();
}

#[test]
fn a_stream_cut_inside_its_header_decodes_to_nothing_and_says_so() {
    let (s, _) = stream();
    decodes_up_to_the_cut("header", &s, 30, 0, "inside its header (30 of 64 bytes)");
}

#[test]
fn a_stream_cut_inside_a_record_start_keeps_the_batches_before() {
    let (s, at) = stream();
    decodes_up_to_the_cut("recstart", &s, at[1] + 4, 7, "record's tag and length");
}

#[test]
fn a_stream_cut_inside_a_batch_header_keeps_the_batches_before() {
    let (s, at) = stream();
    let why = format!("at byte {}: stream cut inside a batch", at[1]);
    decodes_up_to_the_cut("bhdr", &s, at[1] + 20, 7, &why);
}

#[test]
fn a_stream_cut_inside_an_event_keeps_the_batches_before() {
    let (s, at) = stream();
    // Two bytes into the third batch's only event.
    decodes_up_to_the_cut("event", &s, at[2] + 42, 13, "42 bytes dropped");
}

#[test]
fn a_stream_cut_inside_the_footer_keeps_every_batch() {
    let (s, _) = stream();
    decodes_up_to_the_cut("footer", &s, s.len() - 10, 14, "inside the footer");
}

#[test]
fn a_stream_without_its_footer_keeps_every_batch() {
    let (s, _) = stream();
    let footer = rtdecode::format::FooterFixed::len_for(2);
    decodes_up_to_the_cut("nofooter", &s, s.len() - footer, 14, "without a footer");
}

#[test]
fn a_whole_stream_decodes_silently_even_with_strict() {
    let (s, _) = stream();
    let path = file("whole", &s);
    let out = rtdecode(&["--strict", "report", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 14);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_file_that_is_not_a_capture_is_an_error() {
    let path = file(
        "notacapture",
        b"hello, world: not a rust_trace stream at all",
    );
    let out = rtdecode(&["report", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_file(&path).unwrap();
}
