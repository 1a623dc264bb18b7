//! Streams built with the module's own encoder (format.rs), checked by the
//! decoder: valid ones pass, and each broken rule is reported with its offset.

use std::io::Write;

use rtdecode::format::decode::Event;
use rtdecode::format::*;
use rtdecode::stream::Timeline;
use rtdecode::validate::validate;

mod common;
use common::{sample, Builder};

fn temp_file(bytes: &[u8]) -> std::fs::File {
    let path = std::env::temp_dir().join(format!(
        "rtdecode-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(bytes).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    f
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn violations(bytes: &[u8]) -> Vec<(u64, String)> {
    validate(bytes)
        .violations
        .into_iter()
        .map(|v| (v.offset, v.what))
        .collect()
}

#[test]
fn a_well_formed_stream_validates() {
    let s = validate(&sample()[..]);
    assert!(s.ok(), "{:?}", s.violations);
    assert_eq!(s.events, 14);
    assert!(s.footer);
}

#[test]
fn every_event_type_round_trips_in_time_order() {
    let mut tl = Timeline::open(temp_file(&sample())).unwrap();
    let mut seen = Vec::new();
    tl.for_each(|te| seen.push((te.ts, te.cpu, te.ev))).unwrap();
    assert_eq!(seen.len(), 14);
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "not in time order"
    );
    assert!(seen.iter().any(|e| matches!(
        e.2,
        Event::Migrate {
            pid: 12,
            orig_cpu: 0,
            dest_cpu: 1
        }
    )));
    assert!(seen.iter().any(|e| matches!(
        e.2,
        Event::Exec {
            pid: 12,
            old_pid: 12
        }
    )));
    assert!(seen.iter().any(|e| matches!(e.2, Event::Exit { pid: 12 })));
    assert!(seen.iter().any(|e| matches!(
        e.2,
        Event::Fork {
            parent_pid: 10,
            child_pid: 12
        }
    )));
    assert!(seen.iter().any(|e| matches!(
        e.2,
        Event::Wakeup {
            new: true,
            pid: 12,
            target_cpu: 0
        }
    )));
    assert!(seen.iter().any(|e| matches!(
        e.2,
        Event::Switch {
            prev_pid: 11,
            prev_state: 9,
            next_pid: 0
        }
    )));
    assert_eq!(tl.name(10), Some(&b"ping"[..]));
    assert_eq!(tl.name(11), Some(&b"pong"[..]));
    // Absolute time: batch ts + the sum of dt.
    let first_pong = seen
        .iter()
        .find(|e| e.1 == 1 && matches!(e.2, Event::Switch { .. }))
        .unwrap();
    assert_eq!(first_pong.0, 2_060);
}

#[test]
fn wrong_magic_is_reported_at_byte_0() {
    let mut s = sample();
    s[0] = b'X';
    let v = violations(&s);
    assert_eq!(v[0].0, 0);
    assert!(v[0].1.contains("magic"), "{v:?}");
}

#[test]
fn unknown_version_is_reported() {
    let mut s = sample();
    s[8] = 7;
    assert!(violations(&s)[0].1.contains("version 7"));
}

#[test]
fn truncated_stream_is_reported_not_panicking() {
    let s = sample();
    for cut in [10, 64, 70, 100, s.len() - 1] {
        let v = violations(&s[..cut]);
        assert!(!v.is_empty(), "cut at {cut} passed");
    }
}

#[test]
fn missing_footer_is_reported() {
    let s = sample();
    let footer_len = FooterFixed::len_for(2);
    let v = violations(&s[..s.len() - footer_len]);
    assert!(v.iter().any(|x| x.1.contains("without a footer")), "{v:?}");
}

#[test]
fn data_after_the_footer_is_reported() {
    let mut s = sample();
    let end = s.len() as u64;
    s.extend_from_slice(&[0u8; 16]);
    let v = violations(&s);
    assert_eq!(v[0].0, end);
    assert!(v[0].1.contains("after the footer"));
}

#[test]
fn a_gap_in_batch_sequence_is_reported_with_its_offset() {
    let mut b = Builder::new(1);
    b.batch(0, 10, 0, |e| {
        e.exit(0, 1);
        1
    });
    b.seq[0] += 1; // skip one
    let at = b.batch(0, 20, 0, |e| {
        e.exit(0, 2);
        1
    });
    let v = violations(&b.footer());
    assert!(
        v.iter()
            .any(|x| x.0 == at as u64 && x.1.contains("sequence 2 where 1")),
        "{v:?}"
    );
}

#[test]
fn time_going_back_within_a_cpu_is_reported() {
    let mut b = Builder::new(1);
    b.batch(0, 1000, 0, |e| {
        e.exit(50, 1);
        1
    });
    let at = b.batch(0, 1020, 0, |e| {
        e.exit(0, 2);
        1
    });
    let v = violations(&b.footer());
    assert!(
        v.iter()
            .any(|x| x.0 == at as u64 && x.1.contains("before previous event")),
        "{v:?}"
    );
}

#[test]
fn a_corrupt_varint_is_reported_at_the_event() {
    let mut b = Builder::new(1);
    let at = b.batch(0, 10, 0, |e| {
        e.exit(0, 1);
        1
    });
    let mut s = b.footer();
    let ev = at + BATCH_HDR_LEN;
    // type, dt, pid -> make dt a never-ending varint running into the end
    s[ev + 1] = 0xff;
    s[ev + 2] = 0xff;
    let v = violations(&s);
    assert!(!v.is_empty());
    assert!(v[0].0 >= ev as u64, "{v:?}");
}

#[test]
fn an_unknown_event_type_is_reported() {
    let mut b = Builder::new(1);
    let at = b.batch(0, 10, 0, |e| {
        e.exit(0, 1);
        1
    });
    let mut s = b.footer();
    s[at + BATCH_HDR_LEN] = 200;
    let v = violations(&s);
    assert!(
        v.iter()
            .any(|x| x.0 == (at + BATCH_HDR_LEN) as u64 && x.1.contains("unknown event type 200")),
        "{v:?}"
    );
}

#[test]
fn an_event_count_that_disagrees_is_reported() {
    let mut b = Builder::new(1);
    b.batch(0, 10, 0, |e| {
        e.exit(0, 1);
        e.exit(0, 2);
        1 // says one, holds two
    });
    let v = violations(&b.footer());
    assert!(
        v.iter()
            .any(|x| x.1.contains("batch says 1 events, holds 2")),
        "{v:?}"
    );
}

#[test]
fn footer_totals_that_do_not_add_up_are_reported() {
    let mut b = Builder::new(1);
    b.batch(0, 10, 5, |e| {
        e.exit(0, 1);
        1
    });
    b.written[0] += 1; // one event neither in the stream nor lost
    let v = violations(&b.footer());
    assert!(
        v.iter()
            .any(|x| x.1.contains("1 events in the stream + 5 lost != 7 written")),
        "{v:?}"
    );
}

#[test]
fn losses_in_batch_headers_count_toward_the_identity() {
    let mut b = Builder::new(1);
    b.batch(0, 10, 0, |e| {
        e.exit(0, 1);
        1
    });
    b.batch(0, 20, 40, |e| {
        e.exit(0, 2);
        1
    });
    let s = validate(&b.footer()[..]);
    assert!(s.ok(), "{:?}", s.violations);
    assert_eq!(s.cpus[0].lost_in_batches, 40);
}

#[test]
fn a_batch_cpu_beyond_the_header_is_reported() {
    let mut b = Builder::new(1);
    b.seq.push(0);
    b.written.push(0);
    b.lost.push(0);
    b.batches.push(0);
    let at = b.batch(1, 10, 0, |e| {
        e.exit(0, 1);
        1
    });
    let v = violations(&b.footer());
    assert!(
        v.iter()
            .any(|x| x.0 == at as u64 && x.1.contains("CPU 1 out of range")),
        "{v:?}"
    );
}

#[test]
fn comm_longer_than_15_bytes_is_cut_by_the_encoder() {
    let mut buf = [0u8; 64];
    let mut e = Encoder::new(&mut buf);
    e.comm(0, 1, b"a_name_much_longer_than_sixteen");
    let n = e.fitted_len().unwrap();
    let mut c = rtdecode::format::decode::Cursor::new(&buf[..n]);
    let (_, ev) = c.next_event().unwrap();
    assert_eq!(ev.comm_bytes(), Some(&b"a_name_much_lon"[..]));
}

/// A task's `comm` as the module reads it (16 bytes, a NUL after the
/// name, stale bytes after that) is encoded up to the NUL, at most 15
/// bytes, whatever its length: the encoder reads it a word at a time.
#[test]
fn task_names_of_every_length_encode_up_to_their_nul() {
    for len in 0..=16 {
        let mut comm = [0xa5u8; 16];
        for (i, c) in comm.iter_mut().take(len).enumerate() {
            *c = b'a' + i as u8;
        }
        if len < 16 {
            comm[len] = 0;
        }
        let want = &comm[..len.min(15)];
        // Given exactly its maximum, the record fits and writes nothing
        // past it (the canary bytes after the slice stay).
        let mut buf = [0x5au8; TASK_MAX + 16];
        let mut e = Encoder::new(&mut buf[..TASK_MAX]);
        e.task(u64::MAX, u32::MAX, u32::MAX, u64::MAX, &comm);
        assert!(e.fitted_len().is_some(), "name of {len}");
        assert!(buf[TASK_MAX..].iter().all(|&b| b == 0x5a), "name of {len}");
        // Decoded: the name up to its NUL, and the next event right after.
        let mut buf = [0u8; 64];
        let mut e = Encoder::new(&mut buf);
        e.task(7, 1234, 1200, 99, &comm);
        e.exit(0, 1234);
        let n = e.fitted_len().unwrap();
        let mut c = rtdecode::format::decode::Cursor::new(&buf[..n]);
        let (dt, ev) = c.next_event().unwrap();
        assert_eq!(dt, 7);
        assert_eq!(ev.comm_bytes(), Some(want), "name of {len}");
        let (_, ev) = c.next_event().unwrap();
        assert_eq!(ev.type_byte(), EV_EXIT, "name of {len}");
        assert!(c.at_end());
    }
}

#[test]
fn encoder_reports_overflow_instead_of_panicking() {
    let mut buf = [0u8; 3];
    let mut e = Encoder::new(&mut buf);
    e.switch(1 << 40, 100_000, 1, 100_001);
    assert_eq!(e.fitted_len(), None);
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic fuzz: mutate the sample at every position.
    let s = sample();
    for i in 0..s.len() {
        for v in [0u8, 0x7f, 0x80, 0xff] {
            let mut m = s.clone();
            m[i] = v;
            let _ = validate(&m[..]);
            if let Ok(mut tl) = Timeline::open(temp_file(&m)) {
                let _ = tl.for_each(|_| {});
            }
        }
    }
}

/// Inputs that once broke the decoder (found by the fuzzer), and a real
/// capture from the guest: each must decode or fail cleanly, never panic.
#[test]
fn regression_inputs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let _ = validate(&bytes[..]);
        if let Ok(mut tl) = Timeline::open(std::io::Cursor::new(&bytes)) {
            let _ = rtdecode::report::report(&mut tl, &mut std::io::sink());
            let _ = rtdecode::stats::stats(&mut tl);
            let _ = rtdecode::perfetto::write_proto(&mut tl, &mut std::io::sink());
        }
    }
}

/// A real capture from the guest (`rt_workload spawn` under capture.sh,
/// the workload program's name then): it validates, and holds the child's
/// fork, exec and exit.
#[test]
fn real_guest_capture_validates_and_holds_the_child() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/guest-spawn.rtt");
    let bytes = std::fs::read(path).unwrap();
    let s = validate(&bytes[..]);
    assert!(s.ok(), "{:?}", s.violations);
    let mut tl = Timeline::open(std::io::Cursor::new(&bytes)).unwrap();
    let mut forked = Vec::new();
    let (mut execs, mut exits) = (Vec::new(), Vec::new());
    tl.for_each(|te| match te.ev {
        Event::Fork {
            parent_pid,
            child_pid,
        } => forked.push((parent_pid, child_pid)),
        Event::Exec { pid, .. } => execs.push(pid),
        Event::Exit { pid } => exits.push(pid),
        _ => {}
    })
    .unwrap();
    // rt_workload (after its own exec) forks the child, which execs and exits.
    let named = |pid: u32| tl.name(pid) == Some(&b"rt_workload"[..]);
    let (_, child) = *forked
        .iter()
        .find(|(p, c)| named(*p) && named(*c) && execs.contains(c))
        .expect("rt_workload forks a child that execs");
    assert!(exits.contains(&child), "child {child} has no exit");
    assert_eq!(tl.name(child), Some(&b"rt_workload"[..]));
}

/// A PID is never shown with a name recorded after the event: before its
/// first name record it is `<...>` (a name may be missing, never wrong).
#[test]
fn report_never_names_an_event_with_a_later_name() {
    let mut b = Builder::new(1);
    b.batch(0, 2_000, 0, |e| {
        e.wakeup(0, false, 20, 0);
        e.comm(10, 20, b"later");
        e.wakeup(0, false, 20, 0);
        3
    });
    let mut tl = Timeline::open(temp_file(&b.footer())).unwrap();
    let mut out = Vec::new();
    rtdecode::report::report(&mut tl, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let wakeups: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("sched_wakeup"))
        .collect();
    assert_eq!(wakeups.len(), 2, "{text}");
    assert!(wakeups[0].contains("<...>:20"), "{text}");
    assert!(wakeups[1].contains("later:20"), "{text}");
}

/// Each event's maximum length (what the module reserves before encoding
/// it) is exactly what its longest encoding takes.
#[test]
fn each_event_maximum_is_its_longest_encoding() {
    /// Writes one event at its longest.
    type Longest = fn(&mut Encoder<'_>);
    const M: u32 = u32::MAX;
    let cases: [(usize, Longest); 7] = [
        (SWITCH_MAX, |e| e.switch(u64::MAX, M, M, M)),
        (WAKEUP_MAX, |e| e.wakeup(u64::MAX, true, M, M)),
        (FORK_MAX, |e| e.fork(u64::MAX, M, M)),
        (EXIT_MAX, |e| e.exit(u64::MAX, M)),
        (EXEC_MAX, |e| e.exec(u64::MAX, M, M)),
        (MIGRATE_MAX, |e| e.migrate(u64::MAX, M, M, M)),
        (COMM_MAX, |e| e.comm(u64::MAX, M, b"fifteen_chars_x")),
    ];
    for (max, encode) in cases {
        let mut buf = [0u8; 64];
        let mut e = Encoder::new(&mut buf);
        encode(&mut e);
        assert_eq!(e.fitted_len(), Some(max));
        // One byte less does not fit, and says so.
        let mut short = vec![0u8; max - 1];
        let mut e = Encoder::new(&mut short);
        encode(&mut e);
        assert_eq!(e.fitted_len(), None);
    }
}

#[test]
fn a_version_2_stream_validates_and_records_match_the_version() {
    let s = validate(&common::sample_v2()[..]);
    assert!(s.ok(), "{:?}", s.violations);
    // A version 1 task name in a version 2 stream, and the other way round.
    let mut b = Builder::latest(1);
    b.batch(0, 2_000, 0, |e| {
        e.comm(0, 10, b"old");
        1
    });
    let v = violations(&b.footer());
    assert!(
        v.iter().any(|x| x.1.contains("version 1 task name")),
        "{v:?}"
    );
    let mut b = Builder::new(1);
    b.batch(0, 2_000, 0, |e| {
        e.task(0, 10, 10, 0, b"new");
        1
    });
    let v = violations(&b.footer());
    assert!(v.iter().any(|x| x.1.contains("version 1 stream")), "{v:?}");
}

#[test]
fn a_version_2_stream_that_does_not_state_its_filter_first_is_reported() {
    let mut b = Builder::latest(1);
    b.batch(0, 2_000, 0, |e| {
        e.switch(0, 0, 0, 10);
        e.filter(0, FILTER_NONE, EVENTS_ALL, &[]);
        2
    });
    let v = violations(&b.footer());
    assert!(
        v.iter().any(|x| x.1.contains("opens with the filter")),
        "{v:?}"
    );
}

/// A snapshot of one CPU over [10_000, 20_000), with a 10 us generation
/// period.
fn snap() -> Snapshot {
    Snapshot {
        window_start: 10_000,
        window_end: 20_000,
        gen_ns: 10_000,
        overwritten: 42,
        filter_events: EVENTS_ALL,
        ..Default::default()
    }
}

#[test]
fn a_snapshot_record_round_trips_and_a_good_snapshot_validates() {
    let s = snap();
    let parsed = rtdecode::format::Snapshot::parse(&s.to_bytes()).unwrap();
    assert_eq!(parsed, s);
    let mut b = Builder::snapshot(1, &s);
    b.batch(0, 10_000, 0, |e| {
        e.task(0, 10, 10, 0, b"a");
        e.switch(5, 0, 0, 10);
        e.task(1, 11, 11, 0, b"b");
        e.wakeup(1, false, 11, 0);
        4
    });
    let v = validate(&b.footer()[..]);
    assert!(v.ok(), "{:?}", v.violations);
    assert_eq!(v.window, Some([10_000, 20_000]));
}

#[test]
fn a_snapshot_event_outside_its_window_or_unnamed_is_reported() {
    let mut b = Builder::snapshot(1, &snap());
    b.batch(0, 9_000, 0, |e| {
        e.task(0, 10, 10, 0, b"a");
        e.switch(5, 0, 0, 10);
        e.wakeup(11_000, false, 11, 0);
        3
    });
    let v = violations(&b.footer());
    assert!(
        v.iter()
            .any(|x| x.1.contains("outside the snapshot window")),
        "{v:?}"
    );
    assert!(v.iter().any(|x| x.1.contains("PID 11 mentioned")), "{v:?}");
    // A window that ends before it starts.
    let mut s = snap();
    s.window_start = 20_001;
    let v = violations(&Builder::snapshot(1, &s).footer());
    assert!(
        v.iter().any(|x| x.1.contains("ends before it starts")),
        "{v:?}"
    );
}

#[test]
fn a_snapshot_event_its_stated_filter_leaves_out_is_reported_until_a_filter_record() {
    // The record states `events switch`: a wakeup before any filter
    // record breaks it.
    let mut s = snap();
    s.filter_events = 1 << 1;
    let mut b = Builder::snapshot(1, &s);
    b.batch(0, 10_000, 0, |e| {
        e.task(0, 10, 10, 0, b"a");
        e.switch(5, 0, 0, 10);
        e.task(1, 11, 11, 0, b"b");
        e.wakeup(1, false, 11, 0);
        4
    });
    let v = violations(&b.footer());
    assert!(
        v.iter().any(|x| x
            .1
            .contains("type 2 at 10007, which the filter stated for that time leaves out")),
        "{v:?}"
    );
    // After a filter record (every event again) a wakeup is in force.
    let mut b = Builder::snapshot(1, &s);
    b.batch(0, 10_000, 0, |e| {
        e.task(0, 10, 10, 0, b"a");
        e.switch(5, 0, 0, 10);
        e.filter(1, FILTER_NONE, EVENTS_ALL, &[]);
        e.task(1, 11, 11, 0, b"b");
        e.wakeup(1, false, 11, 0);
        5
    });
    let v = validate(&b.footer()[..]);
    assert!(v.ok(), "{:?}", v.violations);
}

#[test]
fn a_snapshot_record_anywhere_but_first_is_an_unknown_record() {
    let mut b = Builder::latest(1);
    b.batch(0, 10_000, 0, |e| {
        e.filter(0, FILTER_NONE, EVENTS_ALL, &[]);
        1
    });
    b.bytes.extend_from_slice(&snap().to_bytes());
    let v = violations(&b.footer());
    assert!(
        v.iter().any(|x| x.1.contains("unknown record tag")),
        "{v:?}"
    );
}
