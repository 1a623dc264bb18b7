//! `ftrace-diff` on streams built with the module's encoder and ftrace
//! text written to match: what it must accept and what it must catch.

use std::io::Cursor;

use rtdecode::ftrace::{diff, parse, Options};
use rtdecode::stream::Timeline;

mod common;
use common::Builder;

/// One ftrace `sched_switch` line at `ns` on `cpu`.
fn switch(cpu: u32, ns: u64, prev: (&str, u32), state: &str, next: (&str, u32)) -> String {
    format!(
        "{:>16}-{:<7} [{cpu:03}] d..2. {:5}.{:06}: sched_switch: prev_comm={} prev_pid={} prev_prio=120 prev_state={state} ==> next_comm={} next_pid={} next_prio=120\n",
        prev.0,
        prev.1,
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1000,
        prev.0,
        prev.1,
        next.0,
        next.1
    )
}

/// A ping-pong on CPU 0 between `a` (PID 10) and `b` (PID 11): `n`
/// switches from `t0`, 1 us apart, as ftrace prints them.
fn ftrace_pingpong(t0: u64, n: u64, a: &str, b: &str) -> String {
    (0..n)
        .map(|i| {
            let (p, q) = if i % 2 == 0 {
                ((a, 10), (b, 11))
            } else {
                ((b, 11), (a, 10))
            };
            switch(0, t0 + i * 1000, p, "S", q)
        })
        .collect()
}

/// The same switches in a batch of the capture (names first), starting at
/// switch `from`, `n` of them; returns the event count.
fn batch_pingpong(e: &mut rtdecode::format::Encoder<'_>, from: u64, n: u64, named: bool) -> u32 {
    let mut count = 0;
    if named {
        e.comm(0, 10, b"a");
        e.comm(0, 11, b"b");
        count += 2;
    }
    for i in from..from + n {
        let (p, q) = if i % 2 == 0 { (10, 11) } else { (11, 10) };
        e.switch(if i == from { 0 } else { 1000 }, p, 1, q);
        count += 1;
    }
    count
}

fn run(stream: Vec<u8>, ftrace: &str) -> rtdecode::ftrace::Diff {
    let mut tl = Timeline::open(Cursor::new(stream)).unwrap();
    let ft = parse(ftrace.as_bytes()).unwrap();
    let opt = Options {
        margin_ns: 0,
        ..Options::default()
    };
    diff(&mut tl, &ft, &opt).unwrap()
}

#[test]
fn the_same_events_pair_one_for_one() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| batch_pingpong(e, 0, 50, true));
    b.batch(0, 1_000_050_000, 0, |e| batch_pingpong(e, 50, 50, false));
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 100, "a", "b"));
    assert!(d.ok(), "{}", d.render());
    assert_eq!(d.total.matched, 100);
    assert_eq!(d.total.names_checked, 200);
    assert_eq!(d.total.missing, 0);
}

#[test]
fn events_missing_where_a_batch_reports_its_losses_are_explained() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| batch_pingpong(e, 0, 40, true));
    // Switches 40..60 lost (20), reported by the next batch.
    b.batch(0, 1_000_060_000, 20, |e| batch_pingpong(e, 60, 40, false));
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 100, "a", "b"));
    assert!(d.ok(), "{}", d.render());
    assert_eq!(d.total.matched, 80);
    assert_eq!(d.total.missing, 20);
    assert_eq!(d.total.missing_unexplained, 0);
}

#[test]
fn events_missing_beyond_the_reported_losses_are_caught() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| batch_pingpong(e, 0, 40, true));
    // 20 switches gone, only 5 reported lost.
    b.batch(0, 1_000_060_000, 5, |e| batch_pingpong(e, 60, 40, false));
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 100, "a", "b"));
    assert!(!d.ok());
    // At least the 15 events beyond the losses (the batch cannot be placed
    // where it belongs, so pairs around it may shift too).
    assert!(d.total.missing_unexplained >= 15, "{}", d.render());
}

#[test]
fn a_wrong_name_is_caught() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| batch_pingpong(e, 0, 10, true));
    // ftrace says PID 11 was called "c" all along.
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 10, "a", "c"));
    assert!(!d.ok());
    assert_eq!(d.total.names_wrong, 10, "{}", d.render());
}

#[test]
fn an_event_ftrace_does_not_have_is_caught() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| {
        let n = batch_pingpong(e, 0, 10, true);
        e.exit(5, 12);
        n + 1
    });
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 10, "a", "b"));
    assert!(!d.ok());
    assert_eq!(d.total.extra, 1, "{}", d.render());
}

#[test]
fn ftrace_losing_events_voids_the_comparison() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| batch_pingpong(e, 0, 10, true));
    let text = format!(
        "CPU:0 [LOST 4 EVENTS]\n{}",
        ftrace_pingpong(1_000_000_000, 10, "a", "b")
    );
    let d = run(b.footer(), &text);
    assert!(!d.ok());
}

#[test]
fn a_dying_task_zombie_or_dead_pairs_either_way() {
    // The parent may reap the zombie between the two probes: ftrace reads Z,
    // the capture X (state index 5).
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| {
        e.comm(0, 10, b"a");
        e.comm(0, 11, b"b");
        e.switch(0, 10, 5, 11);
        3
    });
    let text = switch(0, 1_000_000_000, ("a", 10), "Z", ("b", 11));
    let d = run(b.footer(), &text);
    assert!(d.ok(), "{}", d.render());
    assert_eq!(d.total.matched, 1);
}

#[test]
fn neighbours_swapped_by_an_interrupt_still_pair() {
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| {
        e.comm(0, 10, b"a");
        e.comm(0, 11, b"b");
        e.switch(0, 11, 1, 10);
        e.switch(1000, 10, 1, 11);
        4
    });
    // ftrace saw them the other way round.
    let text = ftrace_pingpong(1_000_000_000, 2, "a", "b");
    let d = run(b.footer(), &text);
    assert!(d.ok(), "{}", d.render());
    assert_eq!(d.total.matched, 2);
}

#[test]
fn neighbours_swapped_across_a_batch_boundary_still_pair() {
    // An interrupt between ftrace's probe and ours: ftrace has switch 48
    // then 49, the capture 49 (ending one batch) then 48 (opening the
    // next). Every event pairs; nothing is missing.
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| {
        let n = batch_pingpong(e, 0, 48, true);
        e.switch(1000, 11, 1, 10);
        n + 1
    });
    b.batch(0, 1_000_049_000, 0, |e| {
        e.switch(0, 10, 1, 11);
        1 + batch_pingpong_tail(e, 50, 50)
    });
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 100, "a", "b"));
    assert!(d.ok(), "{}", d.render());
    assert_eq!(d.total.matched, 100);
    assert_eq!(d.total.missing, 0);
}

/// Switches `from..from + n` continuing a batch, 1 us apart.
fn batch_pingpong_tail(e: &mut rtdecode::format::Encoder<'_>, from: u64, n: u64) -> u32 {
    for i in from..from + n {
        let (p, q) = if i % 2 == 0 { (10, 11) } else { (11, 10) };
        e.switch(1000, p, 1, q);
    }
    n as u32
}

#[test]
fn an_event_lost_as_its_neighbour_filled_the_buffer_is_explained() {
    // ftrace has switch 48 then 49; in the capture 49 (an interrupt's)
    // filled the buffer and 48 found none: the next batch reports it lost.
    let mut b = Builder::new(1);
    b.batch(0, 1_000_000_000, 0, |e| {
        let n = batch_pingpong(e, 0, 48, true);
        e.switch(1000, 11, 1, 10);
        n + 1
    });
    b.batch(0, 1_000_049_000, 1, |e| batch_pingpong_tail(e, 50, 50));
    let d = run(b.footer(), &ftrace_pingpong(1_000_000_000, 100, "a", "b"));
    assert!(d.ok(), "{}", d.render());
    assert_eq!(d.total.matched, 99);
    assert_eq!(d.total.missing, 1);
    assert_eq!(d.total.missing_unexplained, 0);
}
