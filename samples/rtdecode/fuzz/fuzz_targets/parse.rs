//! Fuzz target: every entry point that reads a stream must return an error,
//! never panic, on any input: validation (streaming), and the time-ordered
//! timeline with report, stats and both exports on top of it.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rtdecode::stream::Timeline;

fuzz_target!(|data: &[u8]| {
    let _ = rtdecode::validate::validate(data);
    if let Ok(mut tl) = Timeline::open(Cursor::new(data)) {
        let _ = rtdecode::report::report(&mut tl, &mut std::io::sink());
        let _ = rtdecode::stats::stats(&mut tl);
        let _ = rtdecode::perfetto::write_proto(&mut tl, &mut std::io::sink());
        let _ = rtdecode::perfetto::write_json(&mut tl, &mut std::io::sink());
    }
});
