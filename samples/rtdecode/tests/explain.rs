//! `explain` on a hand-built snapshot: a task woken from a timer IRQ on a
//! CPU a hog holds, which a kworker briefly interrupts.

mod common;

use common::Builder;
use rtdecode::explain::{explain, ExplainError, Target};
use rtdecode::format::*;
use rtdecode::stream::Timeline;

const HOG: u32 = 67;
const SLP: u32 = 68;
const KW: u32 = 23;

/// The snapshot; `triggered`: with the trigger that names SLP.
fn capture(triggered: bool) -> Vec<u8> {
    let mut s = Snapshot {
        window_start: 10_000,
        window_end: 100_000,
        gen_ns: 10_000,
        filter_events: EVENTS_ALL,
        ..Default::default()
    };
    if triggered {
        s.flags = SNAP_F_TRIGGERED;
        s.trigger = Trigger {
            pid: SLP,
            waker: HOG,
            cpu: 1,
            waker_cpu: 1,
            flags: TRIGGER_F_IRQ,
            wakeup_ns: 20_000,
            run_ns: 70_000,
            threshold_ns: 10_000,
        };
    }
    let mut b = Builder::snapshot(2, &s);
    b.batch(1, 10_000, 0, |e| {
        e.task(0, HOG, HOG, 1, b"hog");
        e.switch(0, 0, 0, HOG); // 10_000: idle -> hog
        e.task(10_005, SLP, HOG, 1, b"slp");
        e.wakeup(0, false, SLP, 1); // 20_005
        e.task(19_995, KW, KW, 1, b"kworker/1:0");
        e.switch(0, HOG, STATE_PREEMPTED, KW); // 40_000
        e.switch(5_000, KW, 1, HOG); // 45_000
        e.switch(25_000, HOG, STATE_PREEMPTED, SLP); // 70_000
        8
    });
    // SLP went to sleep on CPU 0 before its wakeup: the wakeup starts a
    // wait (one of a task still on a runqueue would not).
    b.batch(0, 15_000, 0, |e| {
        e.task(0, SLP, HOG, 1, b"slp");
        e.switch(0, SLP, 1, 0);
        2
    });
    b.footer()
}

fn timeline(bytes: Vec<u8>) -> Timeline<std::io::Cursor<Vec<u8>>> {
    Timeline::open(std::io::Cursor::new(bytes)).unwrap()
}

#[test]
fn the_trigger_is_explained_by_what_ran_on_its_cpu() {
    let mut tl = timeline(capture(true));
    let e = explain(&mut tl, Target::default()).unwrap();
    assert_eq!((e.pid, e.name.as_str(), e.tgid), (SLP, "slp", HOG));
    assert_eq!(
        (e.woken_ns, e.queued_ns, e.ran_ns),
        (20_000, Some(20_005), 70_000)
    );
    assert_eq!((e.queued_cpu, e.ran_cpu, e.waited_ns), (Some(1), 1, 50_000));
    assert_eq!(
        (e.waker, e.from_hardirq, e.threshold_ns),
        (Some(HOG), Some(true), Some(10_000))
    );
    assert_eq!(e.delivery_ns, 5);
    let r: Vec<_> = e.runners.iter().map(|r| (r.pid, r.ns, r.slices)).collect();
    assert_eq!(r, vec![(HOG, 19_995 + 25_000, 2), (KW, 5_000, 1)]);
    assert_eq!((e.idle_ns, e.unknown_ns), (0, 0));
    // Every nanosecond of the wait is accounted for.
    let sum: u64 = e.runners.iter().map(|r| r.ns).sum::<u64>() + e.delivery_ns + e.idle_ns;
    assert_eq!(sum, e.waited_ns);
    let text = e.render();
    assert!(
        text.contains("slp-68 (process 67) waited 0.050 ms"),
        "{text}"
    );
    assert!(text.contains("from hard IRQ context"), "{text}");
    assert!(text.contains("hog-67 ran (2 slices)"), "{text}");
}

#[test]
fn any_wait_of_a_pid_is_explained_from_its_wakeup() {
    let mut tl = timeline(capture(false));
    let e = explain(
        &mut tl,
        Target {
            pid: Some(SLP),
            at: Some(30_000),
        },
    )
    .unwrap();
    assert_eq!(
        (e.woken_ns, e.ran_ns, e.waited_ns),
        (20_005, 70_000, 49_995)
    );
    // The waker is the task running where the wakeup was recorded.
    assert_eq!(
        (e.waker, e.from_hardirq, e.threshold_ns),
        (Some(HOG), None, None)
    );
    let r: Vec<_> = e.runners.iter().map(|r| (r.pid, r.ns)).collect();
    assert_eq!(r, vec![(HOG, 19_995 + 25_000), (KW, 5_000)]);
}

#[test]
fn nothing_to_explain_is_said_plainly() {
    let mut tl = timeline(capture(false));
    assert!(matches!(
        explain(&mut tl, Target::default()),
        Err(ExplainError::NoTrigger)
    ));
    let mut tl = timeline(capture(false));
    let t = Target {
        pid: Some(KW),
        at: None,
    };
    assert!(matches!(explain(&mut tl, t), Err(ExplainError::NoWait(KW))));
}

/// A snapshot where SLP is woken at 20_005 on CPU 1 while it is not off
/// any runqueue: `state` 0: it is running on CPU 0 (switched in at
/// 12_000, preempted at 30_000); `state` 1: it was preempted on CPU 0 at
/// 15_000 and is still queued there. Either way its switch in at 70_000
/// ends no wait that wakeup started (the kernel traces `sched_wakeup` of
/// a task on its runqueue too: `ttwu_runnable()`).
fn woken_on_a_runqueue(state: u8) -> Vec<u8> {
    let s = Snapshot {
        window_start: 10_000,
        window_end: 100_000,
        gen_ns: 10_000,
        filter_events: EVENTS_ALL,
        ..Default::default()
    };
    let mut b = Builder::snapshot(2, &s);
    b.batch(0, 12_000, 0, |e| {
        e.task(0, SLP, SLP, 1, b"slp");
        if state == 0 {
            e.switch(0, 0, 0, SLP); // 12_000: idle -> slp
            e.switch(18_000, SLP, STATE_PREEMPTED, 0); // 30_000
        } else {
            e.switch(3_000, SLP, STATE_PREEMPTED, 0); // 15_000
        }
        3 - u32::from(state)
    });
    b.batch(1, 10_000, 0, |e| {
        e.task(0, HOG, HOG, 1, b"hog");
        e.switch(0, 0, 0, HOG);
        e.task(10_005, SLP, SLP, 1, b"slp");
        e.wakeup(0, false, SLP, 1); // 20_005
        e.switch(49_995, HOG, STATE_PREEMPTED, SLP); // 70_000
        5
    });
    b.footer()
}

#[test]
fn a_wakeup_of_a_task_on_a_runqueue_starts_no_wait() {
    for state in [0, 1] {
        let mut tl = timeline(woken_on_a_runqueue(state));
        let t = Target {
            pid: Some(SLP),
            at: None,
        };
        let got = explain(&mut tl, t).map(|e| (e.woken_ns, e.ran_ns));
        assert!(
            matches!(got, Err(ExplainError::NoWait(SLP))),
            "state {state}: a wait that did not happen: {got:?}"
        );
    }
}
