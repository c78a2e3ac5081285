//! Fuzzing of what shipdeck reads from outside (issue "Reliability and security"): the checklist
//! parser (YAML through `load_checklist` / `load_any`), the Markdown importer, the journal reader,
//! and layouts and keymaps. For every input: no panic, no hang (a time limit per input), and every
//! rejection a positioned diagnostic (line ≥ 1, col ≥ 1, inside the input, a message); the
//! journal reader's result must agree with its contract (whole lines parsed, a torn tail reported,
//! a tail that resumes at `complete_len` reads the same events, and so does the tail `watch`
//! and the cockpit follow a journal with).
//!
//! Inputs are structure-aware: real files read at run time (`checklists/`, `layouts/`,
//! `tests/fixtures/`, `../shared/seeds/`, journals written by the real `JournalWriter`) mutated by
//! byte flips, line deletions/duplications/swaps, truncation, YAML/Markdown/JSON tokens, deep
//! nesting, long lines, NUL, invalid UTF-8, BOM, CRLF; plus random bytes and token soup.
//!
//! Modes (environment):
//! - default (CI): each target runs a fixed number of cases from a fixed seed (deterministic).
//! - `SHIPDECK_FUZZ_SECS=N`: each target loops over fresh random seeds for N seconds, then prints
//!   `fuzz-summary target=… secs=… cases=… failures=…` (what `bench/fuzz.sh` runs).
//! - `SHIPDECK_FUZZ_SEED=S` (+ `SHIPDECK_FUZZ_CASES=N`): replays the seed a failure printed.
//! - `SHIPDECK_FUZZ_TIMEOUT_MS` (default 5000): the time limit per input; over it is a hang.
//!
//! A failure prints the input proptest shrank to, minimised further by deleting bytes, and saves
//! both under `target/tmp/fuzz-failures/` (re-run one with the ignored `replay` test). Bugs found
//! so far have regression tests at the end of this file.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use shipdeck::config::diag::Diagnostic;
use shipdeck::config::keymap::Keymap;
use shipdeck::config::layout::{load_layout, load_layout_file};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::config::markdown::import_markdown;
use shipdeck::core::journal::{ChecklistRef, Entry, Event, RunOutcome, StepOutcome};
use shipdeck::core::run::RunState;
use shipdeck::journal_io::{JournalWriter, parse_journal, read_journal};
use shipdeck::session::load_any;
use shipdeck::sources::journal_tail::JournalTail;

// ---------------------------------------------------------------------------------------------
// Settings and the runner

const WORKER: &str = "fuzz-worker";
/// The stack of a spawned thread by default (tokio's workers have the same): inputs must load
/// within it, not only on the main thread's 8 MiB.
const WORKER_STACK: usize = 2 << 20;
/// Cases per proptest round in the time-based mode (short rounds: the deadline is checked
/// between them).
const ROUND_CASES: u32 = 64;
/// Mutated inputs are cut to this size.
const MAX_INPUT: usize = 256 << 10;
/// The time-based mode gives up on a target after this many hangs (each leaves a thread
/// spinning).
const MAX_HANGS: usize = 3;

struct Settings {
    secs: Option<f64>,
    seed: Option<u64>,
    cases: Option<u32>,
    timeout: Duration,
}

fn settings() -> Settings {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    Settings {
        secs: var("SHIPDECK_FUZZ_SECS")
            .map(|v| v.trim().parse().expect("SHIPDECK_FUZZ_SECS: seconds")),
        seed: var("SHIPDECK_FUZZ_SEED")
            .map(|v| v.trim().parse().expect("SHIPDECK_FUZZ_SEED: a u64")),
        cases: var("SHIPDECK_FUZZ_CASES")
            .map(|v| v.trim().parse().expect("SHIPDECK_FUZZ_CASES: a count")),
        timeout: Duration::from_millis(var("SHIPDECK_FUZZ_TIMEOUT_MS").map_or(5000, |v| {
            v.trim().parse().expect("SHIPDECK_FUZZ_TIMEOUT_MS: ms")
        })),
    }
}

/// One fuzz target: how to generate its inputs and what must hold for each.
trait Target: 'static {
    type Case: Clone + fmt::Debug + Send + 'static;
    const NAME: &'static str;
    /// Cases in the default (CI) mode.
    const CI_CASES: u32;
    fn strategy() -> BoxedStrategy<Self::Case>;
    /// The input as the target reads it, for printing and minimising.
    fn bytes(case: &Self::Case) -> Vec<u8>;
    /// Every property, on the structured case (runs on a worker thread).
    fn check(case: Self::Case) -> Result<(), String>;
    /// The properties that need only the bytes (for minimising a failure).
    fn check_bytes(bytes: Vec<u8>) -> Result<(), String>;
}

static HANGS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics on worker threads are expected findings: keep their message (with its location) for
/// the report instead of printing a backtrace for every shrinking step.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if thread::current().name() == Some(WORKER) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `job` on a fresh thread: a panic becomes `Err("panic: …")`, no answer within `limit`
/// becomes `Err("hang: …")` (the thread is left behind).
fn guarded(
    job: impl FnOnce() -> Result<(), String> + Send + 'static,
    limit: Duration,
) -> Result<(), String> {
    install_panic_hook();
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(WORKER.into())
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let result = match panic::catch_unwind(AssertUnwindSafe(job)) {
                Ok(r) => r,
                Err(payload) => {
                    let text = LAST_PANIC
                        .with(|p| p.borrow_mut().take())
                        .unwrap_or_else(|| {
                            payload
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| payload.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "(no message)".into())
                        });
                    Err(format!("panic: {text}"))
                }
            };
            let _ = tx.send(result);
        })
        .expect("spawn a fuzz worker");
    match rx.recv_timeout(limit) {
        Ok(result) => {
            let _ = handle.join();
            result
        }
        Err(RecvTimeoutError::Timeout) => {
            HANGS.fetch_add(1, Ordering::SeqCst);
            Err(format!("hang: no result within {} ms", limit.as_millis()))
        }
        Err(RecvTimeoutError::Disconnected) => {
            Err("panic: the worker died without an answer".into())
        }
    }
}

fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&splitmix(seed.wrapping_add(i as u64)).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

fn name_seed(name: &str) -> u64 {
    name.bytes()
        .fold(0x5d1b_d3c4_u64, |h, b| splitmix(h ^ u64::from(b)))
}

/// Runs `cases` cases from `seed`; returns how many inputs ran and the failure, if any. A
/// failure whose first line is in `seen` is reported in one line (no minimising).
fn round<T: Target>(
    seed: u64,
    cases: u32,
    timeout: Duration,
    seen: &mut HashSet<String>,
) -> (u64, Option<String>) {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 1024,
        max_shrink_time: 20_000,
        max_global_rejects: 1 << 20,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng(seed));
    let ran = Arc::new(AtomicU64::new(0));
    let counter = ran.clone();
    let result = runner.run(&T::strategy(), move |case| {
        counter.fetch_add(1, Ordering::Relaxed);
        if HANGS.load(Ordering::SeqCst) >= MAX_HANGS {
            // Shrinking a hang takes the time limit per step; stop once a few threads spin.
            return Ok(());
        }
        guarded(move || T::check(case), timeout).map_err(TestCaseError::fail)
    });
    let ran = ran.load(Ordering::Relaxed);
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, case)) => {
            let reason = reason.to_string();
            let first = reason.lines().next().unwrap_or("").to_string();
            Some(if seen.insert(first.clone()) {
                report::<T>(seed, cases, &reason, &case, timeout)
            } else {
                format!("{}: seed {seed}: again: {first}", T::NAME)
            })
        }
        Err(TestError::Abort(reason)) => Some(format!("{}: proptest aborted: {reason}", T::NAME)),
    };
    (ran, failure)
}

fn fuzz<T: Target>() {
    let s = settings();
    let mut seen = HashSet::new();
    match s.secs {
        None => {
            let seed = s.seed.unwrap_or_else(|| name_seed(T::NAME));
            let cases = s.cases.unwrap_or(T::CI_CASES);
            let started = Instant::now();
            let (ran, failure) = round::<T>(seed, cases, s.timeout, &mut seen);
            println!(
                "fuzz target={} seed={seed} cases={ran} in {:.1}s",
                T::NAME,
                started.elapsed().as_secs_f64()
            );
            if let Some(f) = failure {
                panic!("{f}");
            }
        }
        Some(secs) => {
            let base = s.seed.unwrap_or_else(random_seed);
            println!("\nfuzz target={} base-seed={base} for {secs}s", T::NAME);
            let started = Instant::now();
            let deadline = started + Duration::from_secs_f64(secs);
            let (mut ran, mut rounds, mut failures) = (0u64, 0u64, 0usize);
            while Instant::now() < deadline && HANGS.load(Ordering::SeqCst) < MAX_HANGS {
                let seed = splitmix(base.wrapping_add(rounds));
                rounds += 1;
                let (n, failure) = round::<T>(seed, ROUND_CASES, s.timeout, &mut seen);
                ran += n;
                if let Some(f) = failure {
                    eprintln!("{f}");
                    failures += 1;
                }
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!(
                "\nfuzz-summary target={} secs={elapsed:.1} cases={ran} rate={:.0} rounds={rounds} \
                 failures={failures} distinct={} hangs={}",
                T::NAME,
                ran as f64 / elapsed.max(1e-9),
                seen.len(),
                HANGS.load(Ordering::SeqCst)
            );
            assert_eq!(failures, 0, "{failures} failure(s); see above");
        }
    }
}

/// Describes a failure: the shrunk case, its bytes minimised further, replay instructions.
fn report<T: Target>(
    seed: u64,
    cases: u32,
    reason: &str,
    case: &T::Case,
    timeout: Duration,
) -> String {
    let bytes = T::bytes(case);
    let class = class(reason);
    let minimal = if class == "hang" {
        bytes.clone()
    } else {
        minimise(&bytes, Duration::from_secs(20), |b| {
            let b = b.to_vec();
            guarded(move || T::check_bytes(b), timeout).is_err_and(|e| self::class(&e) == class)
        })
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let saved = std::fs::create_dir_all(&dir).and_then(|()| {
        let stem = dir.join(format!("{}-{seed}", T::NAME));
        std::fs::write(stem.with_extension("input"), &bytes)?;
        std::fs::write(stem.with_extension("min"), &minimal)?;
        Ok(stem)
    });
    let mut out = String::new();
    out += &format!("\n=== fuzz failure: target {} ===\n{reason}\n", T::NAME);
    out += &format!(
        "replay: SHIPDECK_FUZZ_SEED={seed} SHIPDECK_FUZZ_CASES={cases} \
         cargo test --test fuzz_inputs fuzz_{}\n",
        T::NAME
    );
    out += &format!("case: {}\n", clip(&format!("{case:?}"), 3000));
    out += &format!(
        "input ({} bytes): b\"{}\"\n",
        bytes.len(),
        clip(&bytes.escape_ascii().to_string(), 3000)
    );
    if minimal != bytes {
        out += &format!(
            "minimised ({} bytes): b\"{}\"\n",
            minimal.len(),
            clip(&minimal.escape_ascii().to_string(), 3000)
        );
    }
    match saved {
        Ok(stem) => out += &format!("saved: {}.{{input,min}}\n", stem.display()),
        Err(e) => out += &format!("(not saved: {e})\n"),
    }
    out
}

fn class(message: &str) -> &str {
    message.split(':').next().unwrap_or("")
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &s[..end], s.len() - end)
}

/// Deletes chunks (halving their size) while the failure stays; bounded by `budget`.
fn minimise(input: &[u8], budget: Duration, fails: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + budget;
    let mut best = input.to_vec();
    if !fails(&best) {
        return best;
    }
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut progress = false;
        while i < best.len() && Instant::now() < deadline {
            let end = (i + chunk).min(best.len());
            let mut candidate = best[..i].to_vec();
            candidate.extend_from_slice(&best[end..]);
            if fails(&candidate) {
                best = candidate;
                progress = true;
            } else {
                i += chunk;
            }
        }
        if Instant::now() >= deadline || (chunk == 1 && !progress) {
            return best;
        }
        if !progress {
            chunk = chunk.div_ceil(2);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds: real inputs, read at run time

#[derive(Debug)]
struct Seed {
    name: String,
    bytes: Vec<u8>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<Seed>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, exts, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
            && let Ok(bytes) = std::fs::read(&path)
        {
            let name = path
                .strip_prefix(repo())
                .unwrap_or(&path)
                .display()
                .to_string();
            out.push(Seed { name, bytes });
        }
    }
}

/// Smallest first, so that shrinking the seed index moves towards small inputs.
fn sorted(mut seeds: Vec<Seed>) -> Arc<Vec<Seed>> {
    seeds.sort_by(|a, b| (a.bytes.len(), &a.name).cmp(&(b.bytes.len(), &b.name)));
    assert!(!seeds.is_empty(), "no seed files found");
    Arc::new(seeds)
}

fn checklist_seeds() -> Arc<Vec<Seed>> {
    static SEEDS: OnceLock<Arc<Vec<Seed>>> = OnceLock::new();
    SEEDS
        .get_or_init(|| {
            let mut seeds = Vec::new();
            for dir in ["checklists", "tests/fixtures/checklists", "bench"] {
                files_under(&repo().join(dir), &["yaml", "yml"], &mut seeds);
            }
            sorted(seeds)
        })
        .clone()
}

fn markdown_seeds() -> Arc<Vec<Seed>> {
    static SEEDS: OnceLock<Arc<Vec<Seed>>> = OnceLock::new();
    SEEDS
        .get_or_init(|| {
            let mut seeds = Vec::new();
            let shared = repo().join("../shared/seeds");
            if shared.is_dir() {
                files_under(&shared, &["txt", "md", "markdown"], &mut seeds);
            } else {
                println!(
                    "fuzz: {} is absent; the Markdown target uses tests/fixtures only",
                    shared.display()
                );
            }
            files_under(&repo().join("tests/fixtures/markdown"), &["md"], &mut seeds);
            sorted(seeds)
        })
        .clone()
}

fn layout_seeds() -> Arc<Vec<Seed>> {
    static SEEDS: OnceLock<Arc<Vec<Seed>>> = OnceLock::new();
    SEEDS
        .get_or_init(|| {
            let mut seeds = Vec::new();
            files_under(&repo().join("layouts"), &["yaml", "yml"], &mut seeds);
            // Keymaps: no files ship, so write one from the default bindings.
            let mut keymap = String::new();
            for (keys, command, _) in Keymap::default().help_rows() {
                for key in keys
                    .split('/')
                    .filter(|k| k.chars().count() == 1 || k.is_ascii())
                {
                    keymap += &format!("{key:?}: {command}\n");
                }
            }
            keymap += "\"ctrl-x\": none\nalt-q: quit\nf5: refresh\n";
            seeds.push(Seed {
                name: "keymap (from the default bindings)".into(),
                bytes: keymap.into_bytes(),
            });
            sorted(seeds)
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// A token, printed readably in case descriptions.
#[derive(Clone, Copy)]
struct Tok(&'static [u8]);

impl fmt::Debug for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

#[derive(Clone, Copy, Debug)]
struct Nest {
    pattern: Tok,
    /// One per line, each indented two more spaces; otherwise repeated on one line.
    ladder: bool,
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    DeleteBytes(Index, u8),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    Truncate(Index),
    Insert(Index, Tok),
    /// At the start of a line, after its indentation.
    InsertAtLine(Index, Tok),
    /// The rest of a line after its `: ` or `- ` (a scalar value, usually).
    ReplaceValue(Index, Tok),
    Reindent(Index, i8),
    Nest(Index, Nest, u16),
    /// The token repeated to a line of about this many bytes.
    LongLine(Index, Tok, u32),
    /// Lines repeated: (first line, how many lines, how many times), for what grows with size.
    RepeatLines(Index, u8, u16),
    /// Bytes copied from another seed: (seed, start, length).
    Splice(Index, Index, Index, u16),
    RandomBytes(Index, Vec<u8>),
    Crlf,
    LoneCr,
    Bom,
    TabsForSpaces,
    DropFinalNewline,
}

/// What a mutator may insert, by input language.
struct Dialect {
    tokens: &'static [&'static [u8]],
    values: &'static [&'static [u8]],
    nests: &'static [(&'static [u8], bool)],
    /// Words for inputs made of tokens only.
    soup: &'static [&'static [u8]],
}

#[rustfmt::skip]
const COMMON_TOKENS: &[&[u8]] = &[
    b"\0", b"\t", b"\r\n", b"\r", b"\n", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xe2\x80",
    b"\xed\xa0\x80", "\u{2028}".as_bytes(), "\u{85}".as_bytes(), "\u{feff}".as_bytes(),
    "é".as_bytes(), "😀".as_bytes(), "\u{200d}".as_bytes(), "\u{301}".as_bytes(), "界".as_bytes(),
    b" ", b"\\", b"\"", b"'", b"`", b"${", b"${VERSION}", b"${NOPE}", b"$${", b"}", b"$",
    b"99999999999999999999999", b"-1", b"0", b"18446744073709551616", b"1e999", b"NaN",
];

#[rustfmt::skip]
const YAML: Dialect = Dialect {
    tokens: &[
        b"- ", b": ", b":", b"{", b"}", b"[", b"]", b",", b"*a", b"&a ", b"*b", b"&b ", b"!!str ",
        b"!!map ", b"!!seq ", b"!!binary ", b"!t ", b"!<tag:x> ", b"!!python/object ", b"|",
        b"|-\n", b"|+2\n", b">", b">-\n", b"? ", b"#", b"# c\n", b"---\n", b"...\n",
        b"%YAML 1.2\n", b"%TAG ! tag:x,2000:\n", b"<<: *a\n", b"~", b"null", b"true", b"yes",
        b"\"\\u0000\"", b"\"\\x\"", b"\"\\U0010FFFF\"", b"\"\\ud800\"", b"'it''s'", b"steps:\n",
        b"- title: x\n  run: y\n", b"run: ", b"action: ", b"wait: ", b"id: dup\n",
        b"manual: true\n", b"phases:\n", b"vars:\n", b"  A: 1\n", b"500ms", b"1h30m",
        b"99999999999999999999d", b"18446744073709550000s", b"101%", b"-0%", b"deployment/web",
        b"deployment/", b"/x", b"probes:\n  - name: web\n    url: http://x\n",
    ],
    values: &[
        b"", b"~", b"null", b"true", b"false", b"[]", b"{}", b"[a, b]", b"{a: b}", b"*a", b"&a x",
        b"&a [x]", b"!!str 1", b"\"\"", b"''", b"\"${VERSION}\"", b"${NOPE}", b"\"${unclosed",
        b"${}", b"$${x}", b"|\n  x", b">\n  x", b"0", b"-1", b"3.5", b"1e400",
        b"99999999999999999999999", b"4294967296", b"65536", b"5s", b"0s", b"365d", b"366d",
        b"1.5.5s", b"9999999999999999999999h", b"18446744073709550000s", b"100%", b"0.5%", b"101%",
        b"NaN%", b"inf%", b"-1%", b"1e2%", b"deployment/web", b"sts/db-0", b"deployment/UPPER",
        b"pod/x", b"deployment/", b"/web", b"2xx", b"6xx", b"[200, 204]", b"[200, x]", b"http://x",
        b"ftp://x", b"- a\n- b", b"a: b\nc: d", b"\"\\0\"", b"\"\\t\"", b"\"\\u2028\"",
    ],
    nests: &[
        (b"[", false), (b"{a: ", false), (b"- ", false), (b"? ", false), (b"&a [", false),
        (b"k:", true), (b"- ", true), (b"- steps:", true),
    ],
    soup: &[
        b"name", b"phases", b"steps", b"title", b"run", b"id", b"action", b"wait", b"vars",
        b"probes", b"split", b"children", b"pane", b"size", b"- ", b": ", b"\n", b"  ", b"{", b"}",
        b"[", b"]", b",", b"&a ", b"*a", b"'", b"\"", b"|", b">", b"#", b"${X}", b"x", b"1", b"\t",
        b"? ", b"---", b"\xff",
    ],
};

#[rustfmt::skip]
const MARKDOWN: Dialect = Dialect {
    tokens: &[
        b"- [ ] ", b"* [x] ", b"+ [X] ", b"- [ ]", b"[ ] ", b"1. ", b"99999999999. ", b"1) ",
        b"- ", b"# ", b"###### ", b"####### ", b"#", b"```", b"```bash\n", b"```console\n$ ls\n",
        b"~~~", b"~~~sh\n", b"    ", b"> ", b"|", b"| a | b |\n|---|---|\n| c | d |\n", b"**",
        b"*", b"_", b"__", b"~~", b"`", b"`make it`", b": `ls -la`", b" - `kubectl get pods`",
        b"(`npm test`)", b"**Label:** ", b"(30 minutes)", b"(99999999999999999999 hours)",
        b"(1e308 days)", b"(9999 days)", b"(0.0001 s)", b"(~10 mins)", b"[link](http://x)",
        b"![img](x)", b"[ref]", b"[ref]: http://x\n", b"<div>", b"</div>", b"<!--", b"-->",
        b"<br>", b"[^1]", b"[^1]: note\n", b"$$", b"$x$", b"&amp;", b"&#0;", b"&#x110000;",
        b"---\n", b"===\n", b"***\n", b"\\", b"<http://x>", b"kubectl exec -it x -- psql\n",
        b"# Open http://x\n", b"sudo rm -rf /\n", b"$ ", b"\\\n",
    ],
    values: &[
        b"", b"[ ] x", b"[x] `make`", b"**a:** b", b"`ls` -", b"x: `y`", b"(`z`)", b"```",
        b"> - [ ] q", b"1. [ ] n", b"# h", b"<!-- x", b"[a](", b"**", b"${X}", b"$${",
        b"\t- [ ] t",
    ],
    nests: &[
        (b"> ", false), (b"- ", false), (b"1. ", false), (b"- [ ] ", false), (b"*", false),
        (b"**", false), (b"[", false), (b"`", false), (b"<div>", false), (b"- [ ] x", true),
        (b"1. x", true), (b"> ", true), (b"* item", true),
    ],
    soup: &[
        b"- [ ] ", b"* [x] ", b"1. ", b"# ", b"## ", b"```", b"```bash", b"\n", b"  ", b"    ",
        b"> ", b"|", b"**", b"*", b"_", b"`", b": ", b" - ", b"(", b")", b"[", b"]", b"30 minutes",
        b"deploy", b"kubectl apply -f x", b"x", b"\t", b"<div>", b"---", b"\xff", b"\r\n",
    ],
};

#[rustfmt::skip]
const JSON: Dialect = Dialect {
    tokens: &[
        b"{", b"}", b"[", b"]", b"\"", b":", b",", b"\"ts\"", b"\"event\"", b"\"step_finished\"",
        b"\"comment\"", b"null", b"true", b"1e999", b"-1", b"18446744073709551616", b"4294967296",
        b"\"\\u0000\"", b"\"\\ud800\"", b"\"\\uDFFF\"", b"\\", b"\"2026-11-21T23:58:00.123Z\"",
        b"\"9999-12-31T23:59:59.999-23:59\"", b"\"0000-01-01T00:00:00Z\"",
        b"\"2026-02-30T00:00:00Z\"", b"\"ts\":\"x\",", b"\"event\":\"nope\",", b"\"extra\":1,",
    ],
    values: &[b"{}", b"[]", b"null", b"\"\"", b"{\"ts\":1}"],
    nests: &[(b"[", false), (b"{\"a\":", false)],
    soup: &[
        b"{", b"}", b"\"ts\"", b"\"event\"", b":", b",", b"\"x\"", b"1", b"\n", b"\"run_started\"",
    ],
};

fn token(d: &'static Dialect) -> BoxedStrategy<Tok> {
    prop_oneof![3 => select(d.tokens), 1 => select(COMMON_TOKENS)]
        .prop_map(Tok)
        .boxed()
}

fn mutation(d: &'static Dialect) -> BoxedStrategy<Mutation> {
    let tok = token(d);
    let nest = select(d.nests).prop_map(|(p, ladder)| Nest {
        pattern: Tok(p),
        ladder,
    });
    let depth = prop_oneof![4 => 1u16..40, 2 => 40u16..300, 1 => 300u16..3000];
    let long = prop_oneof![3 => 100u32..5_000, 1 => 5_000u32..100_000];
    let value = select(d.values).prop_map(Tok);
    let random = vec(any::<u8>(), 1..16);
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        2 => (any::<Index>(), 1u8..64).prop_map(|(i, n)| Mutation::DeleteBytes(i, n)),
        3 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => any::<Index>().prop_map(Mutation::Truncate),
        5 => (any::<Index>(), tok.clone()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        4 => (any::<Index>(), tok.clone()).prop_map(|(i, t)| Mutation::InsertAtLine(i, t)),
        5 => (any::<Index>(), value).prop_map(|(i, t)| Mutation::ReplaceValue(i, t)),
        2 => (any::<Index>(), -4i8..=4).prop_map(|(i, n)| Mutation::Reindent(i, n)),
        1 => (any::<Index>(), nest, depth).prop_map(|(i, n, d)| Mutation::Nest(i, n, d)),
        1 => (any::<Index>(), tok, long).prop_map(|(i, t, n)| Mutation::LongLine(i, t, n)),
        1 => (any::<Index>(), 1u8..6, 2u16..3000).prop_map(|(i, n, k)| Mutation::RepeatLines(i, n, k)),
        2 => (any::<Index>(), any::<Index>(), any::<Index>(), 1u16..400)
            .prop_map(|(s, a, b, n)| Mutation::Splice(s, a, b, n)),
        1 => (any::<Index>(), random).prop_map(|(i, b)| Mutation::RandomBytes(i, b)),
        1 => Just(Mutation::Crlf),
        1 => Just(Mutation::LoneCr),
        1 => Just(Mutation::Bom),
        1 => Just(Mutation::TabsForSpaces),
        1 => Just(Mutation::DropFinalNewline),
    ]
    .boxed()
}

/// Byte ranges of the lines of `b`, each with its `\n`.
fn line_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in b.iter().enumerate() {
        if *c == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() || out.is_empty() {
        out.push((start, b.len()));
    }
    out
}

fn splice(b: &mut Vec<u8>, at: usize, with: &[u8]) {
    b.splice(at..at, with.iter().copied());
}

fn apply(mut b: Vec<u8>, m: &Mutation, seeds: &[Seed]) -> Vec<u8> {
    let at = |i: &Index, b: &[u8]| i.index(b.len() + 1);
    match m {
        Mutation::FlipBit(i, bit) if !b.is_empty() => {
            let k = i.index(b.len());
            b[k] ^= 1 << bit;
        }
        Mutation::SetByte(i, v) if !b.is_empty() => {
            let k = i.index(b.len());
            b[k] = *v;
        }
        Mutation::DeleteBytes(i, n) if !b.is_empty() => {
            let k = i.index(b.len());
            let end = (k + usize::from(*n)).min(b.len());
            b.drain(k..end);
        }
        Mutation::DeleteLine(i) => {
            let lines = line_ranges(&b);
            let (s, e) = lines[i.index(lines.len())];
            b.drain(s..e);
        }
        Mutation::DuplicateLine(i) => {
            let lines = line_ranges(&b);
            let (s, e) = lines[i.index(lines.len())];
            let line = b[s..e].to_vec();
            splice(&mut b, e, &line);
        }
        Mutation::SwapLines(x, y) => {
            let lines = line_ranges(&b);
            let (mut p, mut q) = (lines[x.index(lines.len())], lines[y.index(lines.len())]);
            if p.0 > q.0 {
                std::mem::swap(&mut p, &mut q);
            }
            if p != q {
                let mut out = b[..p.0].to_vec();
                out.extend_from_slice(&b[q.0..q.1]);
                out.extend_from_slice(&b[p.1..q.0]);
                out.extend_from_slice(&b[p.0..p.1]);
                out.extend_from_slice(&b[q.1..]);
                b = out;
            }
        }
        Mutation::Truncate(i) => {
            let k = i.index(b.len() + 1);
            b.truncate(k);
        }
        Mutation::Insert(i, t) => {
            let k = at(i, &b);
            splice(&mut b, k, t.0);
        }
        Mutation::InsertAtLine(i, t) => {
            let lines = line_ranges(&b);
            let (s, e) = lines[i.index(lines.len())];
            let indent = b[s..e].iter().take_while(|c| **c == b' ').count();
            splice(&mut b, s + indent, t.0);
        }
        Mutation::ReplaceValue(i, t) => {
            let lines = line_ranges(&b);
            let (s, e) = lines[i.index(lines.len())];
            let line = &b[s..e];
            let body_end = e - usize::from(line.ends_with(b"\n"));
            let after = line
                .windows(2)
                .position(|w| w == b": " || w == b"- ")
                .map(|k| s + k + 2)
                .unwrap_or(s);
            b.splice(after..body_end.max(after), t.0.iter().copied());
        }
        Mutation::Reindent(i, n) => {
            let lines = line_ranges(&b);
            let (s, e) = lines[i.index(lines.len())];
            if *n >= 0 {
                splice(&mut b, s, &vec![b' '; *n as usize]);
            } else {
                let spaces = b[s..e].iter().take_while(|c| **c == b' ').count();
                let cut = spaces.min(n.unsigned_abs() as usize);
                b.drain(s..s + cut);
            }
        }
        Mutation::Nest(i, nest, depth) => {
            let k = at(i, &b);
            let mut text = Vec::new();
            // A ladder's size grows with the square of its depth: 1000 levels is 1 MB.
            let depth = if nest.ladder { depth.min(&1000) } else { depth };
            for level in 0..usize::from(*depth) {
                if nest.ladder {
                    text.extend(std::iter::repeat_n(b' ', 2 * level));
                    text.extend_from_slice(nest.pattern.0);
                    text.push(b'\n');
                } else {
                    text.extend_from_slice(nest.pattern.0);
                }
            }
            if !nest.ladder {
                text.extend_from_slice(b"x\n");
            }
            splice(&mut b, k, &text);
        }
        Mutation::LongLine(i, t, n) => {
            let k = at(i, &b);
            let unit = if t.0.is_empty() { b"x".as_slice() } else { t.0 };
            let text: Vec<u8> = unit.iter().copied().cycle().take(*n as usize).collect();
            splice(&mut b, k, &text);
        }
        Mutation::RepeatLines(i, n, times) => {
            let lines = line_ranges(&b);
            let first = i.index(lines.len());
            let last = (first + usize::from(*n)).min(lines.len()) - 1;
            let (start, end) = (lines[first].0, lines[last].1);
            let mut block = b[start..end].to_vec();
            if !block.ends_with(b"\n") {
                block.push(b'\n');
            }
            let repeated = block.repeat(usize::from(*times));
            splice(&mut b, end, &repeated);
        }
        Mutation::Splice(s, from, k, n) if !seeds.is_empty() => {
            let other = &s.get(seeds).bytes;
            let start = from.index(other.len() + 1);
            let end = (start + usize::from(*n)).min(other.len());
            let piece = other[start..end].to_vec();
            let k = k.index(b.len() + 1);
            splice(&mut b, k, &piece);
        }
        Mutation::RandomBytes(i, bytes) => {
            let k = at(i, &b);
            splice(&mut b, k, bytes);
        }
        Mutation::Crlf => {
            let mut out = Vec::with_capacity(b.len() + b.len() / 16);
            for c in b {
                if c == b'\n' {
                    out.push(b'\r');
                }
                out.push(c);
            }
            b = out;
        }
        Mutation::LoneCr => {
            for c in &mut b {
                if *c == b'\n' {
                    *c = b'\r';
                }
            }
        }
        Mutation::Bom => splice(&mut b, 0, b"\xef\xbb\xbf"),
        Mutation::TabsForSpaces => {
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                if b[i..].starts_with(b"  ") {
                    out.push(b'\t');
                    i += 2;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            b = out;
        }
        Mutation::DropFinalNewline => {
            while b.last() == Some(&b'\n') {
                b.pop();
            }
        }
        _ => {}
    }
    b
}

/// One generated input: where it came from, what was done to it, and the result.
#[derive(Clone)]
struct Input {
    origin: String,
    mutations: Vec<Mutation>,
    bytes: Vec<u8>,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} with {:?}", self.origin, self.mutations)
    }
}

fn inputs(seeds: Arc<Vec<Seed>>, d: &'static Dialect) -> BoxedStrategy<Input> {
    let mutated = (any::<Index>(), vec(mutation(d), 0..8)).prop_map(move |(i, mutations)| {
        let seed = i.get(&seeds);
        let mut bytes = seed.bytes.clone();
        for m in &mutations {
            bytes = apply(bytes, m, &seeds);
            // Big enough for what grows with size, small enough for the time limit in debug.
            bytes.truncate(MAX_INPUT);
        }
        Input {
            origin: seed.name.clone(),
            mutations,
            bytes,
        }
    });
    let random = vec(any::<u8>(), 0..1024).prop_map(|bytes| Input {
        origin: "random bytes".into(),
        mutations: Vec::new(),
        bytes,
    });
    let soup = vec(
        prop_oneof![3 => select(d.soup), 1 => select(d.tokens), 1 => select(COMMON_TOKENS)],
        0..200,
    )
    .prop_map(|toks| Input {
        origin: "token soup".into(),
        mutations: Vec::new(),
        bytes: toks.concat(),
    });
    prop_oneof![12 => mutated, 1 => random, 2 => soup].boxed()
}

// ---------------------------------------------------------------------------------------------
// Positioned diagnostics

/// Lines as YAML counts them (`\r\n`, `\r` and `\n` all end one), with their length in chars.
fn yaml_lines(text: &str) -> Vec<usize> {
    let mut lines = vec![0usize];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(0);
            }
            '\n' => lines.push(0),
            _ => *lines.last_mut().expect("one line") += 1,
        }
    }
    lines
}

/// Every diagnostic points inside `text` (or just past its end) and says something.
fn check_positioned(diags: &[Diagnostic], text: &str, file: &str) -> Result<(), String> {
    if diags.is_empty() {
        return Err("unpositioned: rejected with no diagnostic at all".into());
    }
    let lines = yaml_lines(text);
    for d in diags {
        let (line, col) = (d.pos.line, d.pos.col);
        let bad = if line == 0 || col == 0 {
            Some("line and column are 1-based".to_string())
        } else if line > lines.len() {
            Some(format!(
                "line {line} is past the end ({} lines)",
                lines.len()
            ))
        } else if col > lines.get(line - 1).copied().unwrap_or(0) + 1 {
            Some(format!(
                "column {col} is past the end of line {line} ({} chars)",
                lines.get(line - 1).copied().unwrap_or(0)
            ))
        } else if d.message.trim().is_empty() {
            Some("the message is empty".into())
        } else if d.file != file {
            Some(format!("the file is {:?}, not {file:?}", d.file))
        } else {
            None
        };
        if let Some(why) = bad {
            return Err(format!("unpositioned: {why}: {d}"));
        }
    }
    Ok(())
}

fn temp_file(ext: &str, bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .prefix("shipdeck-fuzz-")
        .suffix(ext)
        .tempfile()
        .expect("a temp file");
    f.write_all(bytes).expect("write the temp file");
    f
}

/// The source a diagnostic of a file read from disk points into (lossy for invalid UTF-8).
fn file_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Target: checklists

const CHECKLIST_FILE: &str = "fuzz.yaml";

fn check_checklist_text(text: &str) -> Result<(), String> {
    let strict = LoadOptions {
        overrides: vec![("VERSION".into(), "9.9".into())],
        require_env: true,
    };
    for opts in [LoadOptions::default(), strict] {
        match load_checklist(text, CHECKLIST_FILE, &opts) {
            Ok(c) => {
                let flat = c.flat_steps();
                let mut ids: Vec<&str> = flat.iter().map(|f| f.step.id.as_str()).collect();
                if c.phases.is_empty() || ids.iter().any(|id| id.is_empty()) {
                    return Err("accepted: without phases or with an empty step id".into());
                }
                ids.sort_unstable();
                if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!("accepted: step id `{}` twice", w[0]));
                }
            }
            Err(diags) => check_positioned(&diags, text, CHECKLIST_FILE)?,
        }
    }
    Ok(())
}

fn check_checklist_bytes(bytes: Vec<u8>) -> Result<(), String> {
    match std::str::from_utf8(&bytes) {
        Ok(text) => check_checklist_text(text),
        Err(_) => {
            // Not text: only the file path reads it (`shipdeck check/run FILE`).
            let file = temp_file(".yaml", &bytes);
            let name = file.path().display().to_string();
            match load_any(file.path(), &LoadOptions::default()) {
                Ok(_) => Err("accepted: a file that is not UTF-8".into()),
                Err(diags) => check_positioned(&diags, &file_text(&bytes), &name),
            }
        }
    }
}

/// `levels` of aliases, each repeating the one before `fanout` times.
fn alias_bomb(levels: usize, fanout: usize) -> Vec<u8> {
    let mut text = String::from("name: bomb\nvars:\n  a0: &a0 [x, x]\n");
    for i in 1..levels {
        let refs = vec![format!("*a{}", i - 1); fanout].join(", ");
        text += &format!("  a{i}: &a{i} [{refs}]\n");
    }
    text += &format!("phases: *a{}\n", levels - 1);
    text.into_bytes()
}

struct Checklists;

impl Target for Checklists {
    type Case = Input;
    const NAME: &'static str = "checklist";
    const CI_CASES: u32 = 250;

    fn strategy() -> BoxedStrategy<Input> {
        let bombs = (2usize..12, 2usize..12).prop_map(|(levels, fanout)| Input {
            origin: format!("alias bomb {levels}×{fanout}"),
            mutations: Vec::new(),
            bytes: alias_bomb(levels, fanout),
        });
        prop_oneof![30 => inputs(checklist_seeds(), &YAML), 1 => bombs].boxed()
    }

    fn bytes(case: &Input) -> Vec<u8> {
        case.bytes.clone()
    }

    fn check(case: Input) -> Result<(), String> {
        check_checklist_bytes(case.bytes)
    }

    fn check_bytes(bytes: Vec<u8>) -> Result<(), String> {
        check_checklist_bytes(bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// Target: Markdown import

fn check_markdown_bytes(bytes: Vec<u8>) -> Result<(), String> {
    // As `shipdeck run FILE.md` reads it.
    let text = String::from_utf8_lossy(&bytes);
    let import = import_markdown(&text);
    let s = import.summary;
    // Lines as CommonMark ends them (`\n`, `\r\n`, `\r`), as YAML does.
    let lines = yaml_lines(&text).len();
    if s.steps != import.steps.len()
        || s.checkbox_steps + s.numbered_steps + s.code_steps != s.steps
    {
        return Err(format!(
            "summary: does not add up: {s:?} for {} steps",
            import.steps.len()
        ));
    }
    if s.runnable + s.manual > s.steps {
        return Err(format!(
            "summary: more runnable and manual steps than steps: {s:?}"
        ));
    }
    if let Some(step) = import
        .steps
        .iter()
        .find(|st| st.line == 0 || st.line > lines)
    {
        return Err(format!(
            "step line: {} is outside the {lines} lines: {step:?}",
            step.line
        ));
    }
    // Items are never invented or dropped: one step per task-list checkbox.
    let options = pulldown_cmark::Options::ENABLE_TASKLISTS
        | pulldown_cmark::Options::ENABLE_TABLES
        | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
    // A leading byte order mark is not part of the document (it would hide a first item).
    let document = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let checkboxes = pulldown_cmark::Parser::new_ext(document, options)
        .filter(|e| matches!(e, pulldown_cmark::Event::TaskListMarker(_)))
        .count();
    if checkboxes != s.checkbox_steps {
        return Err(format!(
            "checkboxes: {checkboxes} in the source, {} steps from them",
            s.checkbox_steps
        ));
    }
    let file = "fuzz.md (imported)";
    match load_checklist(&import.yaml, file, &LoadOptions::default()) {
        Ok(c) => {
            let loaded = c.flat_steps().len();
            if loaded != s.steps || c.phases.len() != s.phases {
                return Err(format!(
                    "reload: the YAML holds {} phases and {loaded} steps, the summary {} and {}",
                    c.phases.len(),
                    s.phases,
                    s.steps
                ));
            }
        }
        Err(diags) => {
            check_positioned(&diags, &import.yaml, file)?;
            // Only a document with nothing in it may come out as a checklist `run` refuses.
            if s.phases > 0 {
                return Err(format!(
                    "rejected: the imported YAML does not load: {}\n--- yaml ---\n{}",
                    diags[0],
                    clip(&import.yaml, 2000)
                ));
            }
        }
    }
    Ok(())
}

struct Markdown;

impl Target for Markdown {
    type Case = Input;
    const NAME: &'static str = "markdown";
    const CI_CASES: u32 = 120;

    fn strategy() -> BoxedStrategy<Input> {
        inputs(markdown_seeds(), &MARKDOWN)
    }

    fn bytes(case: &Input) -> Vec<u8> {
        case.bytes.clone()
    }

    fn check(case: Input) -> Result<(), String> {
        check_markdown_bytes(case.bytes)
    }

    fn check_bytes(bytes: Vec<u8>) -> Result<(), String> {
        check_markdown_bytes(bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// Target: layouts and keymaps

fn check_layout_bytes(bytes: Vec<u8>) -> Result<(), String> {
    match std::str::from_utf8(&bytes) {
        Ok(text) => {
            match load_layout(text, "fuzz-layout.yaml") {
                Ok(layout) => {
                    let mut panes = layout.panes();
                    let n = panes.len();
                    panes.sort_unstable();
                    panes.dedup();
                    if panes.len() != n {
                        return Err("accepted: a layout with a pane twice".into());
                    }
                }
                Err(diags) => check_positioned(&diags, text, "fuzz-layout.yaml")?,
            }
            match Keymap::load(text, "fuzz-keymap.yaml") {
                Ok(_) => Ok(()),
                Err(diags) => check_positioned(&diags, text, "fuzz-keymap.yaml"),
            }
        }
        Err(_) => {
            let file = temp_file(".yaml", &bytes);
            let name = file.path().display().to_string();
            match load_layout_file(file.path()) {
                Ok(_) => return Err("accepted: a layout file that is not UTF-8".into()),
                Err(diags) => check_positioned(&diags, &file_text(&bytes), &name)?,
            }
            match Keymap::load_file(file.path()) {
                Ok(_) => Err("accepted: a keymap file that is not UTF-8".into()),
                Err(diags) => check_positioned(&diags, &file_text(&bytes), &name),
            }
        }
    }
}

struct Layouts;

impl Target for Layouts {
    type Case = Input;
    const NAME: &'static str = "layout";
    const CI_CASES: u32 = 250;

    fn strategy() -> BoxedStrategy<Input> {
        inputs(layout_seeds(), &YAML)
    }

    fn bytes(case: &Input) -> Vec<u8> {
        case.bytes.clone()
    }

    fn check(case: Input) -> Result<(), String> {
        check_layout_bytes(case.bytes)
    }

    fn check_bytes(bytes: Vec<u8>) -> Result<(), String> {
        check_layout_bytes(bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// Target: the journal reader

const JOURNAL: &str = "fuzz.jsonl";

fn text() -> BoxedStrategy<String> {
    prop_oneof![3 => "[a-z0-9._@/-]{0,12}", 1 => any::<String>(), 1 => "[\\PC\n\t\"\\\\]{0,24}"]
        .boxed()
}

fn opt<T: fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::of(s).boxed()
}

fn step_outcome() -> BoxedStrategy<StepOutcome> {
    select(vec![
        StepOutcome::Succeeded,
        StepOutcome::Failed,
        StepOutcome::TimedOut,
        StepOutcome::Aborted,
        StepOutcome::Interrupted,
    ])
    .boxed()
}

/// Timestamps as the journal keeps them: UTC, whole milliseconds, years 0000–9999.
fn timestamp() -> BoxedStrategy<DateTime<Utc>> {
    prop_oneof![
        4 => 1_700_000_000_000i64..1_900_000_000_000,
        1 => -62_167_219_200_000i64..253_402_300_799_999,
    ]
    .prop_map(|ms| Utc.timestamp_millis_opt(ms).single().expect("in range"))
    .boxed()
}

fn event() -> BoxedStrategy<Event> {
    let u32s = || prop_oneof![3 => 0u32..5, 1 => any::<u32>()];
    let u64s = || prop_oneof![3 => 0u64..100_000, 1 => any::<u64>()];
    let started = (
        text(),
        (text(), text(), "[0-9a-f]{0,64}"),
        prop::collection::btree_map(text(), text(), 0..4),
        (text(), text(), any::<u32>(), text()),
        (opt(text()), opt(text()), opt(text()), opt(text())),
    )
        .prop_map(
            |(
                run,
                (name, path, sha256),
                vars,
                (user, host, pid, mode),
                (context, namespace, layout, kubeconfig),
            )| {
                Event::RunStarted {
                    run,
                    checklist: ChecklistRef { name, path, sha256 },
                    vars,
                    user,
                    host,
                    pid,
                    mode,
                    context,
                    namespace,
                    layout,
                    kubeconfig,
                }
            },
        );
    Union::new(vec![
        started.boxed(),
        (text(), text(), any::<u32>())
            .prop_map(|(user, host, pid)| Event::RunResumed { user, host, pid })
            .boxed(),
        (text(), u32s(), text(), opt(text()))
            .prop_map(|(step, attempt, by, what)| Event::StepStarted {
                step,
                attempt,
                by,
                what,
            })
            .boxed(),
        (
            text(),
            u32s(),
            step_outcome(),
            opt(any::<i32>()),
            opt(any::<i32>()),
            u64s(),
            opt(text()),
        )
            .prop_map(
                |(step, attempt, outcome, exit_code, signal, duration_ms, message)| {
                    Event::StepFinished {
                        step,
                        attempt,
                        outcome,
                        exit_code,
                        signal,
                        duration_ms,
                        message,
                    }
                },
            )
            .boxed(),
        (text(), u32s(), any::<i32>())
            .prop_map(|(step, attempt, pgid)| Event::StepSpawned {
                step,
                attempt,
                pgid,
            })
            .boxed(),
        (text(), u32s())
            .prop_map(|(step, attempt)| Event::StepInterrupted { step, attempt })
            .boxed(),
        (text(), text(), text())
            .prop_map(|(step, reason, by)| Event::StepSkipped { step, reason, by })
            .boxed(),
        (text(), text())
            .prop_map(|(step, by)| Event::ManualDone { step, by })
            .boxed(),
        (text(), text())
            .prop_map(|(step, by)| Event::SignedOff { step, by })
            .boxed(),
        (opt(text()), text(), text())
            .prop_map(|(step, text, by)| Event::Comment { step, text, by })
            .boxed(),
        (text(), text(), text())
            .prop_map(|(step, by, command)| Event::RollbackStarted { step, by, command })
            .boxed(),
        (text(), step_outcome(), opt(any::<i32>()), u64s())
            .prop_map(
                |(step, outcome, exit_code, duration_ms)| Event::RollbackFinished {
                    step,
                    outcome,
                    exit_code,
                    duration_ms,
                },
            )
            .boxed(),
        (
            text(),
            text(),
            text(),
            text(),
            text(),
            opt(any::<i64>()),
            opt(any::<i64>()),
        )
            .prop_map(
                |(step, action, target, before, after, revision_before, revision_after)| {
                    Event::ActionApplied {
                        step,
                        action,
                        target,
                        before,
                        after,
                        revision_before,
                        revision_after,
                    }
                },
            )
            .boxed(),
        (text(), text(), u64s())
            .prop_map(|(step, what, duration_ms)| Event::WaitSatisfied {
                step,
                what,
                duration_ms,
            })
            .boxed(),
        (text(), text(), u64s(), text())
            .prop_map(|(step, what, duration_ms, message)| Event::WaitTimedOut {
                step,
                what,
                duration_ms,
                message,
            })
            .boxed(),
        (text(), text(), u64s(), text())
            .prop_map(|(step, what, duration_ms, message)| Event::WaitFailed {
                step,
                what,
                duration_ms,
                message,
            })
            .boxed(),
        (text(), text(), text(), text())
            .prop_map(|(probe, from, to, detail)| Event::ProbeStateChanged {
                probe,
                from,
                to,
                detail,
            })
            .boxed(),
        (
            text(),
            timestamp(),
            any::<u32>(),
            any::<u32>(),
            u64s(),
            u64s(),
            u64s(),
        )
            .prop_map(
                |(probe, minute, requests, errors, p50_ms, p95_ms, max_ms)| Event::ProbeMinute {
                    probe,
                    minute,
                    requests,
                    errors,
                    p50_ms,
                    p95_ms,
                    max_ms,
                },
            )
            .boxed(),
        (text(), text())
            .prop_map(|(rule, detail)| Event::RollbackAdvised { rule, detail })
            .boxed(),
        text()
            .prop_map(|rule| Event::RollbackAdviceCleared { rule })
            .boxed(),
        (
            select(vec![
                RunOutcome::Succeeded,
                RunOutcome::Failed,
                RunOutcome::Aborted,
                RunOutcome::Interrupted,
                RunOutcome::Stopped,
            ]),
            u64s(),
        )
            .prop_map(|(outcome, duration_ms)| Event::RunFinished {
                outcome,
                duration_ms,
            })
            .boxed(),
    ])
    .boxed()
}

fn entry() -> BoxedStrategy<Entry> {
    (timestamp(), event())
        .prop_map(|(ts, event)| Entry::new(ts, event))
        .boxed()
}

/// Lines written by the real `JournalWriter` (without their newline), with the entries they hold.
type WriterLines = Arc<Vec<(Vec<u8>, Entry)>>;

fn writer_lines() -> WriterLines {
    static LINES: OnceLock<WriterLines> = OnceLock::new();
    LINES
        .get_or_init(|| {
            let mut runner = TestRunner::new_with_rng(Config::default(), rng(7));
            let entries: Vec<Entry> = (0..96)
                .map(|_| entry().new_tree(&mut runner).expect("an entry").current())
                .collect();
            let dir = tempfile::tempdir().expect("a temp dir");
            let path = dir.path().join("runs/fuzz/run.jsonl");
            let mut writer = JournalWriter::create(&path).expect("create a journal");
            for e in &entries {
                writer.append(e).expect("append");
            }
            drop(writer);
            let bytes = std::fs::read(&path).expect("read the journal back");
            let lines: Vec<Vec<u8>> = bytes
                .split_inclusive(|b| *b == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            assert_eq!(lines.len(), entries.len(), "one line per event");
            Arc::new(
                lines
                    .into_iter()
                    .map(|mut l| {
                        l.pop();
                        l
                    })
                    .zip(entries)
                    .collect(),
            )
        })
        .clone()
}

#[derive(Clone, Debug)]
enum JLine {
    /// A line the real writer wrote.
    Writer(Index),
    /// A fresh event, serialised as the writer does.
    Fresh(Entry),
    /// A line cut short: the bytes before a crash.
    Torn(Entry, Index),
    Mutated(Entry, Vec<Mutation>),
    Garbage(Vec<u8>),
    Blank(Tok),
}

#[derive(Clone, Debug)]
struct JournalCase {
    lines: Vec<JLine>,
    final_newline: bool,
    crlf: bool,
}

/// What a line is known to hold.
enum Known {
    Entry(Box<Entry>),
    /// Not UTF-8, but it parses with U+FFFD for its bad bytes: read so, with a warning.
    Damaged(Box<Entry>),
    Unreadable,
    Blank,
    /// Depends on what the mutation made of it: decided by parsing the line alone.
    Unknown,
}

fn json_line(e: &Entry) -> Vec<u8> {
    serde_json::to_vec(e).expect("serialise an entry")
}

fn render_line(line: &JLine) -> (Vec<u8>, Known) {
    let strip = |mut b: Vec<u8>| {
        for c in &mut b {
            if *c == b'\n' {
                *c = b' ';
            }
        }
        b
    };
    match line {
        JLine::Writer(i) => {
            let (bytes, e) = i.get(&writer_lines()).clone();
            (bytes, Known::Entry(Box::new(e)))
        }
        JLine::Fresh(e) => (json_line(e), Known::Entry(Box::new(e.clone()))),
        JLine::Torn(e, at) => {
            let full = json_line(e);
            let cut = full[..at.index(full.len())].to_vec();
            let known = if cut.iter().all(u8::is_ascii_whitespace) {
                Known::Blank
            } else {
                Known::Unreadable
            };
            (cut, known)
        }
        JLine::Mutated(e, ms) => {
            let mut b = json_line(e);
            for m in ms {
                b = apply(b, m, &[]);
                b.truncate(MAX_INPUT / 16);
            }
            (strip(b), Known::Unknown)
        }
        JLine::Garbage(b) => (strip(b.clone()), Known::Unknown),
        JLine::Blank(t) => (t.0.to_vec(), Known::Blank),
    }
}

fn render_journal(case: &JournalCase) -> (Vec<u8>, Vec<Known>) {
    let mut bytes = Vec::new();
    let mut known = Vec::new();
    for (i, line) in case.lines.iter().enumerate() {
        let (b, k) = render_line(line);
        bytes.extend_from_slice(&b);
        let newline = i + 1 < case.lines.len() || case.final_newline;
        if case.crlf && newline {
            bytes.push(b'\r');
        }
        if newline {
            bytes.push(b'\n');
        }
        known.push(k);
    }
    (bytes, known)
}

fn journal_case() -> BoxedStrategy<JournalCase> {
    let blank = select(vec![
        b"".as_slice(),
        b" ",
        b"\t",
        b"\r",
        "\u{a0}".as_bytes(),
    ])
    .prop_map(Tok);
    let line = prop_oneof![
        8 => any::<Index>().prop_map(JLine::Writer),
        4 => entry().prop_map(JLine::Fresh),
        2 => (entry(), any::<Index>()).prop_map(|(e, i)| JLine::Torn(e, i)),
        3 => (entry(), vec(mutation(&JSON), 1..4)).prop_map(|(e, m)| JLine::Mutated(e, m)),
        1 => prop_oneof![
            vec(any::<u8>(), 0..80),
            vec(select(JSON.soup), 0..30).prop_map(|t| t.concat()),
        ]
        .prop_map(JLine::Garbage),
        1 => blank.prop_map(JLine::Blank),
    ];
    (vec(line, 0..24), any::<bool>(), prop::bool::weighted(0.1))
        .prop_map(|(lines, final_newline, crlf)| JournalCase {
            lines,
            final_newline,
            crlf,
        })
        .boxed()
}

/// `name:LINE: message` -> LINE.
fn warning_line(w: &str) -> Option<usize> {
    let rest = w.strip_prefix(JOURNAL)?.strip_prefix(':')?;
    let (n, msg) = rest.split_once(": ")?;
    (!msg.trim().is_empty()).then_some(())?;
    n.parse().ok()
}

/// The reader's contract, from the bytes alone.
fn check_journal_bytes(bytes: Vec<u8>) -> Result<(), String> {
    let read = parse_journal(&bytes, JOURNAL);
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if read.complete_len != complete as u64 {
        return Err(format!(
            "complete_len: {} where the last whole line ends at {complete}",
            read.complete_len
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    let non_blank = lines.iter().filter(|l| !l.trim().is_empty()).count();
    // A damaged line that is still read gives an event and a warning.
    let damaged = read
        .warnings
        .iter()
        .filter(|w| w.contains(": read a damaged event"))
        .count();
    if read.entries.len() + read.warnings.len() - damaged != non_blank {
        return Err(format!(
            "count: {} events + {} warnings ({damaged} for events read damaged) for {non_blank} non-blank lines",
            read.entries.len(),
            read.warnings.len()
        ));
    }
    let mut previous = 0;
    for w in &read.warnings {
        let Some(n) = warning_line(w) else {
            return Err(format!(
                "unpositioned: warning without `{JOURNAL}:LINE: `: {w}"
            ));
        };
        if n <= previous || n > lines.len() {
            return Err(format!(
                "unpositioned: warning line {n} out of order or range: {w}"
            ));
        }
        let torn_tail = n == lines.len() && !text.ends_with('\n');
        if w.contains("torn") != torn_tail {
            return Err(format!(
                "torn: a torn-line warning must be exactly the unterminated last line: {w}"
            ));
        }
        previous = n;
    }
    // What a tail that stopped at `complete_len` has read, then what it reads from there on.
    let head = parse_journal(&bytes[..complete], JOURNAL);
    if head.warnings.iter().any(|w| w.contains("torn"))
        || read.entries[..head.entries.len().min(read.entries.len())] != head.entries[..]
    {
        return Err("prefix: the whole lines alone read differently".into());
    }
    let half = bytes[..bytes.len() / 2]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let (a, b) = (
        parse_journal(&bytes[..half], JOURNAL),
        parse_journal(&bytes[half..], JOURNAL),
    );
    let mut joined = a.entries;
    joined.extend(b.entries);
    if joined != read.entries || a.warnings.len() + b.warnings.len() != read.warnings.len() {
        return Err(format!(
            "tail: reading from byte {half} on does not add up to reading it all"
        ));
    }
    // The tail that `watch` and the cockpit follow a journal with reads the same events as the
    // reader (whole lines only), damaged lines included.
    let file = temp_file(".jsonl", &bytes);
    let mut tail = JournalTail::new(file.path(), 0, None);
    let tailed = tail
        .poll()
        .map_err(|e| format!("follow: the tail failed: {e}"))?;
    if tailed != head.entries {
        let first = tailed.iter().zip(&head.entries).position(|(a, b)| a != b);
        return Err(format!(
            "follow: the tail read {} events, the reader {} (first difference at {first:?})",
            tailed.len(),
            head.entries.len()
        ));
    }
    if !tail.poll().map_err(|e| format!("follow: {e}"))?.is_empty() {
        return Err("follow: the tail read the same lines twice".into());
    }
    // What `--resume` does with them.
    let mut state = RunState::replay(&read.entries);
    let _ = state.mark_unfinished_interrupted();
    Ok(())
}

fn check_journal(case: JournalCase) -> Result<(), String> {
    let (bytes, known) = render_journal(&case);
    let read = parse_journal(&bytes, JOURNAL);
    let mut expected = Vec::new();
    let mut warned = Vec::new();
    let rendered: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    for (i, k) in known.into_iter().enumerate() {
        let line = rendered.get(i).copied().unwrap_or(b"");
        let k = match (k, std::str::from_utf8(line)) {
            (Known::Unknown, Ok(line)) if line.trim().is_empty() => Known::Blank,
            // The writer writes UTF-8 only: a line that is not is damaged. It is read with
            // U+FFFD for its bad bytes when it parses so, and warned about either way.
            // (Not the unterminated last line: a torn write, whatever it holds.)
            (Known::Unknown, Err(_)) if i + 1 == rendered.len() && !bytes.ends_with(b"\n") => {
                Known::Unreadable
            }
            (Known::Unknown, Err(_)) => {
                match serde_json::from_str::<Entry>(&String::from_utf8_lossy(line)) {
                    Ok(e) => Known::Damaged(Box::new(e)),
                    Err(_) => Known::Unreadable,
                }
            }
            (Known::Unknown, Ok(line)) => match serde_json::from_str::<Entry>(line) {
                Ok(e) => Known::Entry(Box::new(e)),
                Err(_) => Known::Unreadable,
            },
            (k, _) => k,
        };
        match k {
            Known::Entry(e) => expected.push(*e),
            Known::Damaged(e) => {
                expected.push(*e);
                warned.push(i + 1);
            }
            Known::Unreadable => warned.push(i + 1),
            Known::Blank | Known::Unknown => {}
        }
    }
    if read.entries != expected {
        let first = read.entries.iter().zip(&expected).position(|(a, b)| a != b);
        return Err(format!(
            "events: read {} events, wrote {} (first difference at {first:?})",
            read.entries.len(),
            expected.len()
        ));
    }
    let got: Vec<Option<usize>> = read.warnings.iter().map(|w| warning_line(w)).collect();
    let want: Vec<Option<usize>> = warned.iter().map(|n| Some(*n)).collect();
    if got != want {
        return Err(format!(
            "warnings: on lines {got:?}, expected {want:?}: {:?}",
            read.warnings
        ));
    }
    // The file reader reads the same.
    let file = temp_file(".jsonl", &bytes);
    let from_file = read_journal(file.path()).map_err(|e| format!("read_journal: {e}"))?;
    if from_file.entries != read.entries || from_file.warnings.len() != read.warnings.len() {
        return Err("read_journal: differs from parse_journal".into());
    }
    check_journal_bytes(bytes)
}

struct Journals;

impl Target for Journals {
    type Case = JournalCase;
    const NAME: &'static str = "journal";
    const CI_CASES: u32 = 250;

    fn strategy() -> BoxedStrategy<JournalCase> {
        journal_case()
    }

    fn bytes(case: &JournalCase) -> Vec<u8> {
        render_journal(case).0
    }

    fn check(case: JournalCase) -> Result<(), String> {
        check_journal(case)
    }

    fn check_bytes(bytes: Vec<u8>) -> Result<(), String> {
        check_journal_bytes(bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// The fuzz tests

#[test]
fn fuzz_checklist() {
    fuzz::<Checklists>();
}

#[test]
fn fuzz_markdown() {
    fuzz::<Markdown>();
}

#[test]
fn fuzz_journal() {
    fuzz::<Journals>();
}

#[test]
fn fuzz_layout() {
    fuzz::<Layouts>();
}

/// Re-runs a saved input: `SHIPDECK_FUZZ_INPUT=target/tmp/fuzz-failures/X.min
/// SHIPDECK_FUZZ_TARGET=markdown cargo test --test fuzz_inputs replay -- --ignored --nocapture`.
#[test]
#[ignore = "needs SHIPDECK_FUZZ_INPUT and SHIPDECK_FUZZ_TARGET"]
fn replay() {
    let path = std::env::var("SHIPDECK_FUZZ_INPUT").expect("SHIPDECK_FUZZ_INPUT=FILE");
    let target = std::env::var("SHIPDECK_FUZZ_TARGET").expect("SHIPDECK_FUZZ_TARGET=NAME");
    let bytes = std::fs::read(&path).expect("read the input");
    let check = match target.as_str() {
        "checklist" => check_checklist_bytes,
        "markdown" => check_markdown_bytes,
        "journal" => check_journal_bytes,
        "layout" => check_layout_bytes,
        other => panic!("unknown target {other}"),
    };
    let started = Instant::now();
    let result = guarded(move || check(bytes), Duration::from_secs(600));
    println!("{target} {path}: {result:?} in {:?}", started.elapsed());
    result.unwrap();
}

#[test]
fn the_harness_catches_panics_hangs_and_bad_positions() {
    let limit = Duration::from_millis(200);
    let e = guarded(|| panic!("boom"), limit).unwrap_err();
    assert!(e.starts_with("panic: ") && e.contains("boom"), "{e}");
    let e = guarded(
        || {
            thread::sleep(Duration::from_millis(600));
            Ok(())
        },
        limit,
    )
    .unwrap_err();
    assert!(e.starts_with("hang: "), "{e}");
    HANGS.fetch_sub(1, Ordering::SeqCst);
    let diag = |line, col| Diagnostic {
        file: CHECKLIST_FILE.into(),
        pos: shipdeck::config::diag::Pos::new(line, col),
        message: "x".into(),
        hint: None,
    };
    assert!(check_positioned(&[diag(2, 3)], "ab\nxy\n", CHECKLIST_FILE).is_ok());
    assert!(check_positioned(&[diag(3, 1)], "ab\nxy\n", CHECKLIST_FILE).is_ok());
    assert!(check_positioned(&[diag(0, 1)], "ab\n", CHECKLIST_FILE).is_err());
    assert!(check_positioned(&[diag(4, 1)], "ab\nxy\n", CHECKLIST_FILE).is_err());
    assert!(check_positioned(&[diag(1, 4)], "ab\nxy\n", CHECKLIST_FILE).is_err());
    assert!(check_positioned(&[], "", CHECKLIST_FILE).is_err());
    let small = minimise(b"aaaaXbbbb", Duration::from_secs(1), |b| b.contains(&b'X'));
    assert_eq!(small, b"X");
}

// ---------------------------------------------------------------------------------------------
// Regressions: what fuzzing found, each fixed in the source

/// Checks `text` as the checklist target does (on a worker: a panic or hang fails), then
/// returns its diagnostics.
fn rejected(text: &str) -> Vec<Diagnostic> {
    let bytes = text.as_bytes().to_vec();
    let checked = guarded(
        move || check_checklist_bytes(bytes),
        Duration::from_secs(10),
    );
    assert!(checked.is_ok(), "{text:.200?}: {checked:?}");
    load_checklist(text, CHECKLIST_FILE, &LoadOptions::default()).expect_err("rejected")
}

/// A duration too long for `Duration` panicked in `parse_duration` (and one that fits could
/// still overflow `Instant + timeout` later): over 365 days is an error.
#[test]
fn regression_huge_duration_is_an_error() {
    let text = "name: a\nphases:\n  - name: p\n    steps:\n      - title: t\n        run: x\n";
    for (timeout, col) in [
        ("99999999999999999999999d", 18),
        ("1d 18446744073709550000s", 18),
    ] {
        let d = rejected(&format!("{text}        timeout: {timeout}\n"));
        assert_eq!((d[0].pos.line, d[0].pos.col), (7, col), "{}", d[0]);
        assert!(d[0].message.contains("bad duration"), "{}", d[0]);
    }
}

/// A thousand nested `- ` overflowed the stack (yaml-rust2's loader recurses per level).
#[test]
fn regression_deep_nesting_is_an_error() {
    for text in [
        format!("name: a\nphases:\n{}x\n", "- ".repeat(5000)),
        format!("name: {}", "[".repeat(300)),
        format!("name: a\nphases: {}x\n", "{a: ".repeat(150)),
    ] {
        let d = rejected(&text);
        assert!(
            d[0].message.contains("nested") || d[0].message.contains("recursion"),
            "{}",
            d[0]
        );
    }
}

/// Nested aliases ("billion laughs") expanded exponentially.
#[test]
fn regression_alias_bomb_is_an_error() {
    let started = Instant::now();
    let d = rejected(&String::from_utf8(alias_bomb(9, 10)).unwrap());
    assert!(
        d[0].message.contains("aliases copy in more than"),
        "{}",
        d[0]
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Small aliases still work; one inside what it names is an error, not a silent drop.
    let ok = "name: a\nphases:\n  - &p\n    name: p\n    steps: [{title: t, run: x}]\n";
    assert!(load_checklist(ok, CHECKLIST_FILE, &LoadOptions::default()).is_ok());
    let d = rejected("name: a\nphases: &p [*p]\n");
    assert_eq!((d[0].pos.line, d[0].pos.col), (2, 13), "{}", d[0]);
}

/// yaml-rust2 marks the end of a text without a final newline one line further down: errors
/// and empty values there pointed past the end of the file.
#[test]
fn regression_positions_at_the_end_of_the_file() {
    for (text, at) in [
        (":\np", (2, 2)),
        ("{", (1, 2)),
        ("name: a\nphases:\n  -", (3, 4)),
        (":\n|\n i\u{2028}", (3, 4)),
    ] {
        let d = rejected(text);
        assert_eq!((d[0].pos.line, d[0].pos.col), at, "{text:?}: {}", d[0]);
    }
    check_layout_bytes(b"name: compact\nsplit: cols\nchildren:\n  -".to_vec()).unwrap();
}

/// A leading byte order mark was read as part of the first key (`unknown field \u{feff}name`).
#[test]
fn regression_byte_order_mark() {
    let text = "\u{feff}name: a\nphases:\n  - name: p\n    steps: [{title: t, run: x}]\n";
    assert!(load_checklist(text, CHECKLIST_FILE, &LoadOptions::default()).is_ok());
}

/// A file that is not UTF-8 was rejected at 1:1 ("stream did not contain valid UTF-8"), wherever
/// the bad byte was.
#[test]
fn regression_not_utf8_points_at_the_byte() {
    let file = temp_file(".yaml", b"name: a\nphases:\n  - name: p\xff\n");
    let d = load_any(file.path(), &LoadOptions::default()).unwrap_err();
    assert_eq!((d[0].pos.line, d[0].pos.col), (3, 12), "{}", d[0]);
    assert!(d[0].message.contains("0xff"), "{}", d[0]);
    let d = load_layout_file(file.path()).unwrap_err();
    assert_eq!((d[0].pos.line, d[0].pos.col), (3, 12), "{}", d[0]);
    // Keymaps too (they were still reported at 1:1).
    let d = Keymap::load_file(file.path()).unwrap_err();
    assert_eq!((d[0].pos.line, d[0].pos.col), (3, 12), "{}", d[0]);
    assert!(d[0].message.contains("0xff"), "{}", d[0]);
}

/// A journal line with a byte that is not UTF-8 (damage: the writer writes UTF-8 JSON only) was
/// read lossily by the journal reader (report, resume) and dropped by the tail that `watch` and
/// the cockpit follow a journal with. Both now skip it, the reader with a warning naming the
/// line, and both read on.
#[test]
fn regression_journal_line_not_utf8_reads_alike_in_reader_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let mut writer = JournalWriter::create(&path).unwrap();
    let comment = |text: &str| {
        Entry::new(
            Utc::now(),
            Event::Comment {
                step: None,
                text: text.into(),
                by: "bo@desk".into(),
            },
        )
    };
    let texts = |entries: &[Entry]| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Comment { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    let mut tail = JournalTail::new(&path, 0, None);
    writer.append(&comment("before")).unwrap();
    let mut damaged = serde_json::to_vec(&comment("da_maged")).unwrap();
    let at = damaged.iter().position(|b| *b == b'_').unwrap();
    damaged[at] = 0xff;
    damaged.push(b'\n');
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&damaged)
        .unwrap();
    writer.append(&comment("after")).unwrap();
    let read = read_journal(&path).unwrap();
    // The event is kept, its bad byte replaced: dropping it could drop a step's end.
    assert_eq!(texts(&read.entries), ["before", "da\u{fffd}maged", "after"]);
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    let name = path.display().to_string();
    assert!(
        read.warnings[0].starts_with(&format!(
            "{name}:2: read a damaged event with its bad bytes replaced: "
        )) && read.warnings[0].contains("not UTF-8"),
        "{}",
        read.warnings[0]
    );
    assert_eq!(tail.poll().unwrap(), read.entries);
    // Both follow the rest of the journal.
    writer.append(&comment("later")).unwrap();
    assert_eq!(texts(&tail.poll().unwrap()), ["later"]);
    assert_eq!(
        texts(&read_journal(&path).unwrap().entries),
        ["before", "da\u{fffd}maged", "after", "later"]
    );
}

/// A heading estimate over the longest duration a checklist accepts made the imported YAML
/// unloadable (and `(99999999999999999999 hours)` overflowed before durations were capped).
#[test]
fn regression_markdown_huge_estimate() {
    for md in [
        "## Soak (9999 hours)\n\n- [ ] x\n",
        "## (99999999999999999999 hours)\n>\n",
    ] {
        check_markdown_bytes(md.as_bytes().to_vec()).unwrap_or_else(|e| panic!("{md:?}: {e}"));
    }
}

/// A leading byte order mark was read into the first line: `# Title` was prose, and a first
/// task-list item was not one (its checkbox no step). It is dropped as the YAML loader drops it.
#[test]
fn regression_markdown_byte_order_mark() {
    for md in ["\u{feff}# T\n\n- [ ] x\n", "\u{feff}- [ ] x\n- [ ] y\n"] {
        check_markdown_bytes(md.as_bytes().to_vec()).unwrap_or_else(|e| panic!("{md:?}: {e}"));
    }
    let import = import_markdown("\u{feff}- [ ] x\n- [ ] y\n");
    assert_eq!(import.summary.checkbox_steps, 2);
    assert_eq!(import.steps[0].line, 1);
}

/// Task lists nested deeper than a checklist may nest were imported as YAML that does not load,
/// and about 900 levels overflowed the stack (the importer recursed per level).
#[test]
fn regression_markdown_deep_nesting() {
    let ladder: String = (0..900)
        .map(|i| format!("{}- [ ] x\n", "  ".repeat(i)))
        .collect();
    let plain = format!("{}[ ] x\n", "- ".repeat(3000));
    for md in [ladder, plain] {
        let r = guarded(
            move || check_markdown_bytes(md.into_bytes()),
            Duration::from_secs(20),
        );
        assert!(r.is_ok(), "{r:?}");
    }
    let ladder: String = (0..40)
        .map(|i| format!("{}- [ ] s{i}\n", "  ".repeat(i)))
        .collect();
    let import = import_markdown(&ladder);
    assert_eq!(import.summary.steps, 40);
    let depths: Vec<usize> = import.steps.iter().map(|s| s.depth).collect();
    assert_eq!(depths.iter().max(), Some(&32), "{depths:?}");
    let c = load_checklist(&import.yaml, "x", &LoadOptions::default()).expect("loads");
    let titles: Vec<String> = c
        .flat_steps()
        .iter()
        .map(|f| f.step.title.clone())
        .collect();
    let want: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
    assert_eq!(titles, want, "document order is kept");
}

/// Many equal titles took quadratic time to get unique ids, and many undefined `${VAR}`s to
/// be positioned (each search started over from the top of the file): thousands of steps took
/// minutes.
#[test]
fn regression_many_errors_stay_linear() {
    let steps = "      - title: t ${NOPE}\n        run: x\n".repeat(6000);
    let one = format!(
        "      - title: t\n        run: {}\n",
        "${NOPE}".repeat(6000)
    );
    for body in [steps, one] {
        let text = format!("name: a\nphases:\n  - name: p\n    steps:\n{body}");
        let started = Instant::now();
        let d = rejected(&text);
        assert_eq!(d.len(), 6000);
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
    }
    let d = rejected(
        "name: a\nphases:\n  - name: p\n    steps:\n      - title: >\n          a ${X}\n          b ${Y}\n        run: x\n",
    );
    assert_eq!(
        [d[0].pos, d[1].pos].map(|p| (p.line, p.col)),
        [(6, 13), (7, 13)]
    );
}

/// Markdown with lone `\r` line ends (which CommonMark reads as line ends) was one line to the
/// importer: every note held the whole document, quadratic in its size.
#[test]
fn regression_markdown_lone_cr_lines() {
    let lf =
        "# T\n\n## A\n\nSome prose.\n\n- [ ] one\n  - [ ] two\n\n| a | b |\n|---|---|\n| c | d |\n";
    let cr = lf.replace('\n', "\r");
    let (a, b) = (import_markdown(lf), import_markdown(&cr));
    assert_eq!(a.yaml, b.yaml);
    assert_eq!(a.steps, b.steps);
    check_markdown_bytes(cr.repeat(2000).into_bytes()).unwrap();
}

/// Unicode line separators (U+2028, U+2029, NEL) in imported text: serde_yaml broke lines at
/// them, the checklist parser does not, so the imported YAML did not load.
#[test]
fn regression_markdown_unicode_line_separators() {
    for md in [
        "- [ ]\n \u{2028}c",
        "```bash\n\u{2028}e\n",
        "- [ ] x\n\n  a\u{2029}b\u{85}c\n",
    ] {
        check_markdown_bytes(md.as_bytes().to_vec()).unwrap_or_else(|e| panic!("{md:?}: {e}"));
    }
}

/// Block quotes or lists nested tens of thousands deep overflowed the stack when the importer's
/// block tree was dropped (recursively).
#[test]
fn regression_markdown_very_deep_blocks() {
    for unit in ["> ", "- ", "* > ", "1. "] {
        let md = format!("{}- [ ] x\n", unit.repeat(60_000));
        let r = guarded(
            move || check_markdown_bytes(md.into_bytes()),
            Duration::from_secs(60),
        );
        assert!(r.is_ok(), "{unit:?}: {r:?}");
    }
}
