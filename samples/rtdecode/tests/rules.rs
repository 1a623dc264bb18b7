//! One hand-built stream per rule of `docs/FORMAT.md` that `validate`
//! checks beyond the stream's structure (rules 11 to 13 of `validate.rs`):
//! each breaks one rule and must be reported; the same stream with the
//! rule kept must validate, so a check that cannot fail fails here.

use rtdecode::format::*;
use rtdecode::validate::validate;

mod common;
use common::Builder;

/// The violations of `bytes`, as text.
fn violations(bytes: &[u8]) -> Vec<String> {
    validate(bytes)
        .violations
        .into_iter()
        .map(|v| v.what)
        .collect()
}

/// Asserts that `bad` breaks a rule with a message containing `what`, and
/// that `good` breaks none.
fn breaks(bad: &[u8], good: &[u8], what: &str) {
    let v = violations(bad);
    assert!(
        v.iter().any(|m| m.contains(what)),
        "want {what:?}, got {v:?}"
    );
    let v = violations(good);
    assert!(v.is_empty(), "the kept rule still reports {v:?}");
}

/// A two-CPU stream: the opening filter `(kind, events, ids)` on CPU 0 at
/// 10 us, then `f` encodes the rest of that batch (returning how many
/// events), then CPU 1 switches from idle to a thread of process 10 at
/// 20 us.
fn stream(kind: u8, events: u32, ids: &[u64], f: impl FnOnce(&mut Encoder<'_>) -> u32) -> Vec<u8> {
    let mut b = Builder::latest(2);
    b.batch(0, 10_000, 0, |e| {
        e.filter(0, kind, events, ids);
        1 + f(e)
    });
    b.batch(1, 20_000, 0, |e| {
        e.task(0, 30, 10, 0, b"a");
        e.switch(0, 0, 0, 30);
        2
    });
    b.footer()
}

#[test]
fn prev_state_above_9_is_reported() {
    let with = |state| {
        stream(FILTER_NONE, EVENTS_ALL, &[], |e| {
            e.task(1, 10, 10, 0, b"t");
            e.switch(0, 10, state, 0);
            2
        })
    };
    breaks(&with(10), &with(STATE_PREEMPTED), "prev_state 10");
}

#[test]
fn a_cpu_argument_at_or_above_the_cpu_count_is_reported() {
    let wake = |cpu| {
        stream(FILTER_NONE, EVENTS_ALL, &[], |e| {
            e.task(1, 10, 10, 0, b"t");
            e.wakeup(0, false, 10, cpu);
            2
        })
    };
    breaks(&wake(2), &wake(1), "target_cpu 2");
    let migrate = |dest| {
        stream(FILTER_NONE, EVENTS_ALL, &[], |e| {
            e.task(1, 10, 10, 0, b"t");
            e.migrate(0, 10, 0, dest);
            2
        })
    };
    breaks(&migrate(7), &migrate(1), "from CPU 0 to 7");
}

#[test]
fn a_task_record_naming_pid_0_is_reported() {
    let name = |pid| {
        stream(FILTER_NONE, EVENTS_ALL, &[], |e| {
            e.task(1, pid, pid, 0, b"swapper");
            1
        })
    };
    breaks(&name(0), &name(1), "naming PID 0");
    // The encoder stops a name at a NUL, as the kernel's strings do: the
    // byte is patched in.
    let good = stream(FILTER_NONE, EVENTS_ALL, &[], |e| {
        e.task(1, 10, 10, 0, b"aXb");
        1
    });
    let mut bad = good.clone();
    let at = bad.windows(3).position(|w| w == b"aXb").unwrap();
    bad[at + 1] = 0;
    breaks(&bad, &good, "PID 10's name holds a NUL byte");
}

#[test]
fn a_filter_record_of_the_wrong_shape_is_reported() {
    let none = stream(FILTER_NONE, EVENTS_ALL, &[], |_| 0);
    let two_cgroups = stream(FILTER_CGROUP, EVENTS_ALL, &[5, 6], |_| 0);
    breaks(
        &two_cgroups,
        &stream(FILTER_CGROUP, EVENTS_ALL, &[5], |_| 0),
        "kind 3 with 2 ids",
    );
    breaks(
        &stream(FILTER_PID, EVENTS_ALL, &[], |_| 0),
        &none,
        "kind 1 with 0 ids",
    );
    breaks(
        &stream(FILTER_NONE, EVENTS_ALL, &[4], |_| 0),
        &none,
        "kind 0 with 1 ids",
    );
    breaks(
        &stream(FILTER_NONE, 1 << 8, &[], |_| 0),
        &none,
        "event mask 0x100",
    );
    breaks(&stream(FILTER_NONE, 0, &[], |_| 0), &none, "event mask 0x0");
}

#[test]
fn an_event_type_the_filter_leaves_out_is_reported() {
    // `events switch`, then a wakeup 1 ms later on the same CPU.
    let with = |mask| {
        stream(FILTER_NONE, mask, &[], |e| {
            e.task(1_000_000, 10, 10, 0, b"t");
            e.wakeup(0, false, 10, 1);
            2
        })
    };
    breaks(
        &with(1 << EV_SWITCH),
        &with((1 << EV_SWITCH) | (1 << EV_WAKEUP)),
        "type 2 at 1010000, which the filter stated for that time leaves out",
    );
}

#[test]
fn a_filter_change_holds_from_its_record_and_the_old_one_only_while_it_takes_effect() {
    // Every event, then `events switch` at 1 ms; a wakeup at 1.5 ms may
    // still follow the old filter, one 100 ms later may not.
    let wake_at = |late: u64| {
        let mut b = Builder::latest(1);
        b.batch(0, 0, 0, |e| {
            e.filter(0, FILTER_NONE, EVENTS_ALL, &[]);
            e.filter(1_000_000, FILTER_NONE, 1 << EV_SWITCH, &[]);
            e.task(late, 10, 10, 0, b"t");
            e.wakeup(0, false, 10, 0);
            4
        });
        b.footer()
    };
    breaks(
        &wake_at(100_000_000),
        &wake_at(500_000),
        "type 2 at 101000000",
    );
}

#[test]
fn an_event_of_processes_outside_the_tgid_filter_is_reported() {
    // `filter tgid 10`: a switch between tasks of processes 20 and 0 (idle)
    // breaks it; one from 20 to 10's thread 11 does not.
    let switch_to = |next: u32, tgid: u32| {
        stream(FILTER_TGID, EVENTS_ALL, &[10], |e| {
            e.task(1, 20, 20, 0, b"other");
            e.task(0, next, tgid, 0, b"next");
            e.switch(0, 20, 1, next);
            3
        })
    };
    breaks(
        &switch_to(21, 20),
        &switch_to(11, 10),
        "of processes 20 and 20 only",
    );
    // A switch to the idle task.
    let to_idle = stream(FILTER_TGID, EVENTS_ALL, &[10], |e| {
        e.task(1, 20, 20, 0, b"other");
        e.switch(0, 20, 1, 0);
        2
    });
    breaks(&to_idle, &switch_to(11, 10), "of processes 0 and 20 only");
}

/// A good snapshot of one CPU over [10 us, 20 us).
fn snap() -> Snapshot {
    Snapshot {
        window_start: 10_000,
        window_end: 20_000,
        gen_ns: 10_000,
        filter_events: EVENTS_ALL,
        ..Default::default()
    }
}

/// The snapshot `s`, its record's bytes passed through `patch`.
fn snapshot_stream(s: &Snapshot, patch: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut b = Builder::snapshot(1, s);
    patch(&mut b.bytes[HEADER_LEN..HEADER_LEN + SNAPSHOT_LEN]);
    b.batch(0, 10_000, 0, |e| {
        e.task(0, 10, 10, 0, b"a");
        e.switch(5, 0, 0, 10);
        2
    });
    b.footer()
}

#[test]
fn nonzero_reserved_or_unused_snapshot_fields_are_reported() {
    let good = snapshot_stream(&snap(), |_| {});
    let cases: [(usize, &str); 3] = [
        (43, "flag bits other than bit 0"),
        (48, "filter ids past filter_n"),
        (112, "trigger fields set without the trigger flag"),
    ];
    for (at, what) in cases {
        breaks(&snapshot_stream(&snap(), |r| r[at] = 1), &good, what);
    }
    // A cgroup filter stated with two ids.
    let mut two = snap();
    two.filter_kind = FILTER_CGROUP;
    two.filter_n = 2;
    two.filter_ids[..2].copy_from_slice(&[5, 6]);
    breaks(
        &snapshot_stream(&two, |_| {}),
        &good,
        "states a filter of kind 3 with 2 ids",
    );
}

#[test]
fn a_trigger_wait_not_above_its_threshold_is_reported() {
    let with = |run_ns| {
        let mut s = snap();
        s.flags = SNAP_F_TRIGGERED;
        s.trigger = Trigger {
            pid: 10,
            cpu: 0,
            wakeup_ns: 11_000,
            run_ns,
            threshold_ns: 5_000,
            ..Default::default()
        };
        snapshot_stream(&s, |_| {})
    };
    breaks(
        &with(16_000),
        &with(16_001),
        "is not above its threshold 5000 ns",
    );
    breaks(&with(10_000), &with(16_001), "is not above its threshold");
    // Trigger flag bits beyond IRQ and softirq.
    breaks(
        &snapshot_stream(&snap(), |r| {
            r[42] = 1;
            r[124] = 4;
            r[136] = 0xff;
        }),
        &with(16_001),
        "trigger flag bits other than 0 and 1",
    );
}

#[test]
fn wrong_clock_fields_and_reserved_header_or_footer_bytes_are_reported() {
    let good = stream(FILTER_NONE, EVENTS_ALL, &[], |_| 0);
    let patched = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    breaks(&patched(20, 2), &good, "clock_id 2 is not 1");
    breaks(&patched(33, b'X'), &good, "clock_name is not local_clock");
    breaks(&patched(47, b'Y'), &good, "clock_name is not local_clock");
    breaks(&patched(63, 1), &good, "header reserved bytes");
    let foot = good.len() - (FOOTER_FIXED_LEN + 2 * FOOTER_CPU_LEN);
    breaks(&patched(foot + 12, 1), &good, "footer reserved bytes");
    breaks(
        &patched(foot + 16, 1),
        &good,
        "clock_hz 1000000001 is not 10^9",
    );
}

#[test]
fn events_past_a_snapshot_window_are_allowed_only_within_its_stated_skew() {
    // An event 100 ns after the window's end: outside it with no skew
    // stated, inside the 500 ns a CPU's clock was seen ahead.
    let with = |skew_ns, after: u64| {
        let mut s = snap();
        s.skew_ns = skew_ns;
        let mut b = Builder::snapshot(1, &s);
        b.batch(0, 10_000, 0, |e| {
            e.task(0, 10, 10, 0, b"a");
            e.switch(5, 0, 0, 10);
            e.wakeup(9_995 + after, false, 10, 0); // 20_000 + after
            3
        });
        b.footer()
    };
    breaks(
        &with(0, 100),
        &with(500, 100),
        "outside the snapshot window",
    );
    breaks(
        &with(500, 600),
        &with(500, 499),
        "outside the snapshot window",
    );
    assert_eq!(validate(&with(500, 100)[..]).skew_ns, Some(500));
}
