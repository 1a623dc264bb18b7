//! Processes in a version 2 capture: each thread's process (tgid) and
//! cgroup, per-process statistics, and the exports grouping threads under
//! their process, as Perfetto records them.

use std::io::Cursor;

use rtdecode::perfetto::{process_tree, write_json};
use rtdecode::stats::{stats_grouped, Grouping};
use rtdecode::stream::Timeline;

mod common;

fn timeline() -> Timeline<Cursor<Vec<u8>>> {
    Timeline::open(Cursor::new(common::sample_v2())).unwrap()
}

#[test]
fn threads_are_grouped_under_their_process_named_after_its_leader() {
    let tl = timeline();
    let tree = process_tree(tl.tasks());
    let threads: Vec<(i32, i32)> = tree
        .threads
        .iter()
        .map(|t| (t.tid.unwrap(), t.tgid.unwrap()))
        .collect();
    assert_eq!(threads, vec![(10, 10), (11, 10), (12, 12)]);
    let procs: Vec<(i32, String)> = tree
        .processes
        .iter()
        .map(|p| (p.pid.unwrap(), p.cmdline[0].clone()))
        .collect();
    assert_eq!(
        procs,
        vec![(10, "server".to_string()), (12, "helper".to_string())]
    );
}

#[test]
fn chrome_json_puts_each_thread_in_its_process() {
    let mut tl = timeline();
    let mut out = Vec::new();
    write_json(&mut tl, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    // The worker thread's slice and wakeup are in the server's process.
    let of_worker: Vec<&serde_json::Value> = events.iter().filter(|e| e["tid"] == 11).collect();
    assert!(!of_worker.is_empty());
    assert!(of_worker.iter().all(|e| e["pid"] == 10), "{of_worker:?}");
    assert!(events
        .iter()
        .any(|e| e["name"] == "process_name" && e["pid"] == 10 && e["args"]["name"] == "server"));
}

#[test]
fn stats_sum_the_threads_of_each_process_and_each_cgroup() {
    let mut tl = timeline();
    let g = Grouping {
        by_cgroup: true,
        ..Grouping::default()
    };
    let s = stats_grouped(&mut tl, &g).unwrap();
    let server = s.processes.iter().find(|p| p.id == 10).unwrap();
    assert_eq!(server.tasks, 2);
    assert_eq!(server.switches_in, 2);
    assert_eq!(s.cgroups.len(), 1);
    assert_eq!(s.cgroups[0].name, "(not recorded)");
}

#[test]
fn a_version_1_capture_still_decodes_each_task_its_own_process() {
    let tl = Timeline::open(Cursor::new(common::sample())).unwrap();
    let tree = process_tree(tl.tasks());
    assert!(tree.threads.iter().all(|t| t.tid == t.tgid));
    assert_eq!(tl.header().version, 1);
}
