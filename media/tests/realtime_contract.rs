//! Proof of the per-frame contract of `MediaSession`: pushing packets, issuing commands, ticking
//! and draining output allocate nothing, read no clock, make no system call — so they take no
//! contended lock (that would be a futex call) and log nothing (that would be a write) — over a
//! minute of a busy call (see `common/realtime_run.rs`).
//!
//! Three instruments, each with a positive control showing it can fail:
//! - a counting global allocator, armed around the steps on the test's own thread;
//! - an interposed `clock_gettime`/`gettimeofday`/`time` that counts reads while armed — the
//!   executable's definitions take precedence over libc's, and `Instant::now` goes through them;
//! - a forked child that enters seccomp strict mode (only `read`, `write`, `exit` and `sigreturn`
//!   are allowed; anything else kills it with SIGKILL) before stepping the whole run.
//!
//! A source scan adds what the dynamic checks cannot see: uncontended lock types in the media
//! crate, or a logging dependency.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::realtime_run::RealtimeRun;

struct Counting;

// Per thread, so tests running side by side in this binary never count each other's work.
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static CLOCK_READS: Cell<u64> = const { Cell::new(0) };
}

/// Adds one to a per-thread counter when the thread is armed.
fn count(counter: &'static std::thread::LocalKey<Cell<u64>>) {
    if armed_now() {
        counter.with(|c| c.set(c.get() + 1));
    }
}

/// This thread's count.
fn read(counter: &'static std::thread::LocalKey<Cell<u64>>) -> u64 {
    counter.with(Cell::get)
}

fn armed_now() -> bool {
    ARMED.with(Cell::get)
}

/// Runs `f` with both counters armed on this thread.
fn armed<T>(f: impl FnOnce() -> T) -> T {
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    out
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(&ALLOCATIONS);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(&ALLOCATIONS);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(&ALLOCATIONS);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn note_clock_read() {
    count(&CLOCK_READS);
}

/// Interposes libc's `clock_gettime` (what `Instant::now` and `SystemTime::now` call): counts, then
/// asks the kernel directly.
///
/// # Safety
/// Same contract as libc's `clock_gettime`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(clock: libc::clockid_t, tp: *mut libc::timespec) -> i32 {
    note_clock_read();
    // SAFETY: the caller passes a valid `timespec` pointer, as for libc's function.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, tp) as i32 }
}

/// Interposes libc's `gettimeofday`.
///
/// # Safety
/// Same contract as libc's `gettimeofday`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gettimeofday(tv: *mut libc::timeval, tz: *mut libc::c_void) -> i32 {
    note_clock_read();
    // SAFETY: as for libc's function.
    unsafe { libc::syscall(libc::SYS_gettimeofday, tv, tz) as i32 }
}

/// Interposes libc's `time`.
///
/// # Safety
/// Same contract as libc's `time`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn time(out: *mut libc::time_t) -> libc::time_t {
    note_clock_read();
    // SAFETY: as for libc's function.
    unsafe { libc::syscall(libc::SYS_time, out) as libc::time_t }
}

#[test]
fn a_minute_of_play_record_mix_and_detect_allocates_nothing_and_reads_no_clock() {
    let mut run = RealtimeRun::new();
    let before = (read(&ALLOCATIONS), read(&CLOCK_READS));
    armed(|| while run.step() {});
    assert_eq!(run.shortfall(), None, "the run did not do what it claims");
    assert_eq!(
        read(&ALLOCATIONS) - before.0,
        0,
        "allocations on the media path"
    );
    assert_eq!(
        read(&CLOCK_READS) - before.1,
        0,
        "clock reads on the media path"
    );
}

#[test]
fn the_instruments_see_an_allocation_and_a_clock_read() {
    let before = (read(&ALLOCATIONS), read(&CLOCK_READS));
    armed(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(16));
        std::hint::black_box(std::time::Instant::now());
        std::hint::black_box(std::time::SystemTime::now());
    });
    assert!(read(&ALLOCATIONS) > before.0);
    assert!(read(&CLOCK_READS) >= before.1 + 2);
}

/// How a child process ended.
#[derive(Debug, PartialEq, Eq)]
enum ChildEnd {
    Exited(i32),
    Killed(i32),
}

/// Forks; the child enters seccomp strict mode, runs `work`, and exits with its code through the
/// raw `exit` system call (the only way out strict mode allows). Must be called before the child
/// needs anything that allocates: the fork copies only this thread, and `work` must not allocate.
fn in_strict_seccomp_child(work: impl FnOnce() -> i32) -> ChildEnd {
    // SAFETY: the child touches only memory prepared before the fork, makes no allocation and
    // leaves through `SYS_exit`, so locks held by other threads of the test harness at fork time
    // are never needed in it.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain prctl and exit calls in the child.
        unsafe {
            if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_STRICT) != 0 {
                libc::syscall(libc::SYS_exit, 100);
            }
            let code = work();
            libc::syscall(libc::SYS_exit, code);
        }
        unreachable!("SYS_exit returned");
    }
    let mut status = 0;
    // SAFETY: waits for the child we just forked.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid failed");
    if libc::WIFEXITED(status) {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    } else {
        ChildEnd::Killed(libc::WTERMSIG(status))
    }
}

#[test]
fn a_minute_of_play_record_mix_and_detect_makes_no_system_call() {
    let mut run = RealtimeRun::new();
    let end = in_strict_seccomp_child(|| {
        while run.step() {}
        if run.shortfall().is_some() { 3 } else { 0 }
    });
    assert_ne!(
        end,
        ChildEnd::Exited(100),
        "seccomp strict mode unavailable"
    );
    assert_ne!(
        end,
        ChildEnd::Exited(3),
        "the run under seccomp did not do what it claims (run it outside seccomp: \
         the allocation test checks the same run and names the shortfall)"
    );
    assert_eq!(
        end,
        ChildEnd::Exited(0),
        "the media path made a system call (SIGKILL from seccomp); find it with \
         `strace -f` on this test"
    );
}

#[test]
fn the_seccomp_child_is_killed_by_a_system_call() {
    let end = in_strict_seccomp_child(|| {
        // SAFETY: a plain system call, forbidden in strict mode.
        unsafe { libc::getppid() };
        0
    });
    assert_eq!(end, ChildEnd::Killed(libc::SIGKILL));
}

/// Source files of the media crate that are not on the per-frame path: the conformance
/// procedure and the test-signal generator run offline.
const OFFLINE: [&str; 2] = ["dtmf/conformance", "dtmf/generator.rs"];

/// Words that would mean a lock, a clock, I/O or logging in per-frame code. `OnceLock` is not
/// among them: the shared DTMF tables are initialised at construction, and reading an initialised
/// `OnceLock` is one atomic load.
const FORBIDDEN: [&str; 14] = [
    "Mutex",
    "RwLock",
    "Condvar",
    "Barrier",
    "parking_lot",
    "Instant::now",
    "SystemTime",
    "println!",
    "eprintln!",
    "dbg!",
    "std::thread",
    "std::fs",
    "std::net",
    "std::io::std",
];

#[test]
fn the_media_crate_names_no_lock_clock_io_or_logger() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 20, "scanned only {} files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root.join("src")).unwrap();
        if OFFLINE.iter().any(|o| relative.starts_with(o)) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    found.push(format!("{}:{}: {word}", relative.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "per-frame code names: {found:#?}");

    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    for logger in ["log", "tracing", "env_logger", "slog"] {
        assert!(
            !dependencies
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{logger} "))
                    || l.trim_start().starts_with(&format!("{logger}="))
                    || l.trim_start().starts_with(&format!("{logger}."))),
            "switchboard-media depends on the logger `{logger}`"
        );
    }
}
