//! Hostile text from the cluster and from steps (pod names, log lines, events, probe
//! answers, step output with terminal escape sequences) is drawn inertly: nothing that reaches
//! the terminal can move the cursor, set a title, or draw outside its pane.
//!
//! Two levels: the screen drawn on a `TestBackend` from a model fed through `update` (step
//! output taken from the real runner), where no cell may hold a control character or one of
//! the invisible characters terminals measure differently, and every pane keeps its border;
//! and the real binary in a real tmux, where a step prints the sequences and the pane's title,
//! the other panes and the bytes written to the terminal are checked.

mod common;

use common::tmux::{Tmux, WAIT, journal_events, poll};
use common::{RunStart, at_secs as at, key, select};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use shipdeck::config::layout::{Layout, PaneId, builtin};
use shipdeck::core::journal::{Entry, Event};
use shipdeck::core::keys::{Key, KeyCode};
use shipdeck::core::kube::{ContainerView, EventView, PodView, WorkloadView};
use shipdeck::core::model::Model;
use shipdeck::core::msg::{KubeMsg, LogLine, LogStreamState, Msg, Stream};
use shipdeck::core::probes::{FailureKind, Sample};
use shipdeck::core::update::update;
use shipdeck::sources::runner::{Grace, RunnerEvent, StepSpec, run_step};
use unicode_width::UnicodeWidthStr;

/// Each line starts with a visible marker (`H01`…), so that its being drawn can be checked.
/// `PWNED` only ever stands inside an escape sequence: it must never be seen.
const HOSTILE: &[&str] = &[
    "H01 \x1b[2J\x1b[Hcleared\x1b[31m red\x1b[0m",
    "H02 \x1b]0;PWNED-TITLE\x07after-title",
    "H03 \x1b]2;PWNED-TITLE\x1b\\after-st",
    "H04 \x1b]52;c;UFdORUQ=\x07after-clipboard",
    "H05 \x1b]8;;http://PWNED.example/\x1b\\link\x1b]8;;\x1b\\",
    "H06 \x1bP+qPWNED\x1b\\\x1b_GPWNED=1\x1b\\\x1b^PWNED\x1b\\\x1bXPWNED\x1b\\device-strings",
    "H07 \u{9b}2J\u{9b}1;1H\u{9d}0;PWNED-TITLE\u{9c}\u{90}PWNED\u{9c}c1-controls",
    "H08 \x1b[5;10r\x1b[1;1H\x1b[999C\x1b[99B\x1b[5A\x1b[s\x1b[u\x1b[?1049l\x1b[?25l\x1b[?1000hmoves",
    "H09 \x1b(0lqqk\x1b(B\x1b#8\x1bkPWNED-NAME\x1b\\charsets",
    "back\x08\x08\x08\x08XXXX\rH10 carriage",
    "H11 vt\x0bff\x0cnul\0del\x7fbell\x07 end",
    "H12 tab\tthere",
    "H13 \u{202e}txt.exe\u{202c} \u{2066}iso\u{2069} \u{200f}rtl",
    "H14 zw\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{00ad}joined",
    "H15 \u{2764}\u{fe0f}\u{2600}\u{fe0f}\u{1f44d}\u{1f3fd}\u{1f9d1}\u{200d}\u{1f4bb}\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f} emoji",
    "H16 日本語テキスト全角ＷＩＤＥ wide",
    "H17 e\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}\u{307}\u{308}\u{309}\u{30a}\u{30b}\u{30c} zalgo",
    "H18 a\u{2028}b\u{2029}c separators",
    "H19 lone\x1b",
];

/// What no cell may hold: control characters (C0, DEL, C1), and invisible characters that
/// reorder text (bidi), hide it (zero-width, soft hyphen, tags) or that terminals measure
/// differently from the layout (variation selectors, emoji modifiers, joiners, separators).
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0000}'..='\u{E007F}')
}

const LIST: &str = r#"
name: Web release 2.0
cluster:
  context: prod
  namespace: shop
  watch: [deployment/web]
  logs: { selector: app=web, container: web, since: 5m }
probes:
  - { name: web, url: "http://127.0.0.1:9/health", every: 2s }
phases:
  - name: Deployment
    steps:
      - { id: tests, title: All unit tests pass, run: cargo test, estimate: 5m }
      - { id: smoke, title: Smoke tests, run: ./smoke.sh }
"#;

/// The lines the real runner passes on for a step that prints every [`HOSTILE`] line.
fn runner_lines() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.txt");
    std::fs::write(&file, HOSTILE.join("\n") + "\n").unwrap();
    let spec = StepSpec::new(
        format!("cat '{}'", file.display()),
        dir.path().join("logs/tests.1.log"),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lines = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let (_abort_tx, abort_rx) = tokio::sync::watch::channel(false);
        let collect = tokio::spawn(async move {
            let mut lines = Vec::new();
            while let Some(ev) = rx.recv().await {
                if let RunnerEvent::Line { text, .. } = ev {
                    lines.push(text);
                }
            }
            lines
        });
        let _ = run_step(spec, Grace::default(), tx, abort_rx).await;
        collect.await.unwrap()
    });
    assert_eq!(lines.len(), HOSTILE.len(), "{lines:#?}");
    // The log keeps what the step wrote.
    let log = std::fs::read(dir.path().join("logs/tests.1.log")).unwrap();
    assert!(
        log.windows(4).any(|w| w == b"\x1b]0;"),
        "the log lost the raw output"
    );
    lines
}

fn hostile_pod(i: usize, text: &str) -> PodView {
    PodView {
        name: format!("web-6b7f9c8d5-{i:02}{text}"),
        phase: "Running".into(),
        containers: 1,
        statuses: vec![ContainerView {
            name: "web".into(),
            ready: true,
            started: true,
            running: true,
            ..Default::default()
        }],
        ready_condition: true,
        initialized_condition: true,
        node: format!("node{text}"),
        created: Some(at(-30)),
        revision: Some(7),
        labels: vec![("app".into(), "web".into())],
        ..Default::default()
    }
}

/// A connected model whose every text from outside is hostile: pods, events, workload
/// conditions, log lines (pods and text), a log stream error, a stale stream, a probe failure,
/// a watcher's comment, and the running step's output.
fn hostile_model(layout: &str, output: &[String]) -> Model {
    let mut m = common::model(LIST, &RunStart::default(), &[], at(20), layout);
    let kube = |m: &mut Model, k: KubeMsg| {
        update(m, Msg::Kube(k));
    };
    common::connect(&mut m);
    select(&mut m, "tests");
    key(&mut m, Key::plain(KeyCode::Enter));
    for line in output {
        update(
            &mut m,
            Msg::StepLine {
                step: "tests".into(),
                attempt: 1,
                line: line.clone(),
            },
        );
    }
    let mut w = WorkloadView {
        kind: "deployment".into(),
        name: "web".into(),
        generation: 4,
        observed_generation: 4,
        desired: Some(3),
        replicas: 3,
        updated: 2,
        ready: 3,
        available: 3,
        strategy: "RollingUpdate".into(),
        revision: Some(7),
        selector: "app=web".into(),
        ..Default::default()
    };
    w.conditions = vec![(
        "Progressing".into(),
        "False".into(),
        HOSTILE[6].into(),
        HOSTILE[1].into(),
    )];
    kube(&mut m, KubeMsg::Workload(w));
    let pods = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, h)| hostile_pod(i, h))
        .collect();
    kube(&mut m, KubeMsg::PodsRelisted(pods));
    for (i, h) in HOSTILE.iter().enumerate() {
        kube(
            &mut m,
            KubeMsg::Event(EventView {
                kind: "Warning".into(),
                reason: format!("Back{h}"),
                object: format!("pod/web-{h}"),
                message: h.to_string(),
                count: 1,
                last: Some(at(i as i64)),
            }),
        );
    }
    let batch = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, h)| LogLine {
            pod: format!(
                "web-6b7f9c8d5-{}",
                ["x2lqp", HOSTILE[8], HOSTILE[14]][i % 3]
            ),
            ts: at(i as i64),
            text: h.to_string(),
        })
        .collect();
    update(&mut m, Msg::Logs(batch));
    update(
        &mut m,
        Msg::LogStream {
            pod: format!("web-6b7f9c8d5-{}", HOSTILE[14]),
            state: LogStreamState::Retrying(HOSTILE[2].into()),
        },
    );
    kube(
        &mut m,
        KubeMsg::Stale {
            stream: Stream::Events,
            since: at(10),
            error: HOSTILE[7].into(),
        },
    );
    update(
        &mut m,
        Msg::Probe(Sample {
            probe: "web".into(),
            at: at(19),
            latency_ms: 12,
            status: Some(500),
            failure: Some((FailureKind::BadStatus(500), HOSTILE[3].into())),
            cert_days: None,
        }),
    );
    let comment = Entry::new(
        at(15),
        Event::Comment {
            step: Some("tests".into()),
            text: HOSTILE[4].into(),
            by: format!("eve{}@box", HOSTILE[12]),
        },
    );
    update(&mut m, Msg::Journal(vec![comment]));
    update(&mut m, Msg::Tick(at(20)));
    m
}

/// The rows above and below the panes, as `ui::render` lays them out.
fn body(area: Rect) -> Rect {
    let (header_h, footer_h) = match area.height {
        0..=3 => (1, 0),
        4..=11 => (1, 1),
        _ => (2, 1),
    };
    Rect {
        y: area.y + header_h,
        height: area.height.saturating_sub(header_h + footer_h),
        ..area
    }
}

fn is(buf: &Buffer, x: u16, y: u16, allowed: &[&str]) -> bool {
    allowed.contains(&buf[(x, y)].symbol())
}

/// No cell holds a [`forbidden`] character, no escape sequence's payload (`PWNED`) is on
/// screen outside the panes in `lenient`, every pane's border is whole. Returns the panes
/// drawn.
fn assert_inert(
    buf: &Buffer,
    m: &Model,
    layout: &Layout,
    lenient: &[PaneId],
    what: &str,
) -> Vec<(PaneId, Rect)> {
    let screen = common::text(buf);
    let body = body(buf.area);
    let panes: Vec<(PaneId, Rect)> = shipdeck::ui::placed(m, layout, body)
        .into_iter()
        .map(|(p, r)| (p, r.intersection(body)))
        .filter(|(_, r)| r.width >= 2 && r.height >= 2)
        .collect();
    for y in 0..buf.area.height {
        let mut strict_text = String::new();
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            let pane = panes
                .iter()
                .find(|(_, r)| r.contains((x, y).into()))
                .map(|(p, _)| *p);
            let bad = sym.chars().find(|c| forbidden(*c));
            assert!(
                bad.is_none(),
                "{what}: cell ({x},{y}) of {pane:?} holds {sym:?} ({bad:?})\n{screen}"
            );
            if !pane.is_some_and(|p| lenient.contains(&p)) {
                strict_text.push_str(sym);
            }
        }
        assert!(
            !strict_text.contains("PWNED"),
            "{what}: the payload of an escape sequence is on screen (row {y})\n{screen}"
        );
    }
    for (pane, r) in &panes {
        let (l, t, rt, b) = (r.x, r.y, r.right() - 1, r.bottom() - 1);
        let corners = [
            (l, t, ["┌", "┏"]),
            (rt, t, ["┐", "┓"]),
            (l, b, ["└", "┗"]),
            (rt, b, ["┘", "┛"]),
        ];
        for (x, y, c) in corners {
            assert!(
                is(buf, x, y, &c),
                "{what}: corner ({x},{y}) of {pane:?} is broken\n{screen}"
            );
        }
        for y in t + 1..b {
            assert!(
                is(buf, l, y, &["│", "┃"]) && is(buf, rt, y, &["│", "┃"]),
                "{what}: side of {pane:?} broken at row {y}\n{screen}"
            );
        }
        for x in l + 1..rt {
            assert!(
                is(buf, x, b, &["─", "━"]),
                "{what}: bottom of {pane:?} broken at column {x}\n{screen}"
            );
        }
    }
    panes
}

/// The text inside `r`, row by row.
fn inside(buf: &Buffer, r: Rect) -> String {
    let mut out = String::new();
    for y in r.y + 1..r.bottom() - 1 {
        let mut skip = 0;
        for x in r.x + 1..r.right() - 1 {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = UnicodeWidthStr::width(sym).saturating_sub(1);
            out.push_str(sym);
        }
        out.push('\n');
    }
    out
}

#[test]
fn hostile_text_is_drawn_inertly_in_every_pane_and_layout() {
    let output = runner_lines();
    for layout in ["default", "wide", "compact", "pair"] {
        let l = builtin(layout).unwrap();
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let m = hostile_model(layout, &output);
            let buf = common::draw(&m, w, h, true);
            let what = format!("{layout} {w}x{h}");
            // The logs pane shows what is left of some sequences as text (inert, but
            // noise); see `logs_drop_escape_sequences_whole`.
            assert_inert(&buf, &m, &l, &[PaneId::Logs], &what);
        }
        // Each pane zoomed, large enough for all of its text.
        for pane in builtin(layout).unwrap().panes() {
            let mut m = hostile_model(layout, &output);
            common::focus(&mut m, pane);
            m.zoom = true;
            let buf = common::draw(&m, 200, 60, true);
            let what = format!("{layout} zoomed {pane:?}");
            let panes = assert_inert(&buf, &m, &l, &[PaneId::Logs], &what);
            if pane == PaneId::Output {
                let (_, r) = panes.iter().find(|(p, _)| *p == pane).unwrap();
                let text = inside(&buf, *r);
                for n in 1..=HOSTILE.len() {
                    assert!(
                        text.contains(&format!("H{n:02}")),
                        "{what}: line H{n:02} is not shown\n{text}"
                    );
                }
                for shown in [
                    "cleared red",
                    "after-title",
                    "after-clipboard",
                    "link",
                    "device-strings",
                    "c1-controls",
                    "moves",
                    "lqqkcharsets",
                    "H10 carriage",
                    "H12 tab there",
                    "txt.exe iso rtl",
                    "zwjoined",
                    "日本語テキスト全角ＷＩＤＥ wide",
                    "abc separators",
                    "H19 lone",
                ] {
                    assert!(text.contains(shown), "{what}: {shown:?} not shown\n{text}");
                }
            }
        }
    }
}

#[test]
fn logs_drop_escape_sequences_whole() {
    let output = runner_lines();
    let l = builtin("default").unwrap();
    let mut m = hostile_model("default", &output);
    common::focus(&mut m, PaneId::Logs);
    m.zoom = true;
    let buf = common::draw(&m, 200, 60, true);
    assert_inert(&buf, &m, &l, &[], "zoomed logs");
}

// ---------------------------------------------------------------------------------------------
// The real binary in tmux.

/// The box of the pane titled `name` on a captured screen: (left, top, right, bottom) in
/// display columns and rows.
fn pane_box(screen: &str, name: &str) -> Option<(usize, usize, usize, usize)> {
    let lines: Vec<&str> = screen.lines().collect();
    for (top, line) in lines.iter().enumerate() {
        let cells: Vec<char> = line.chars().collect();
        let mut col = 0;
        for (i, c) in cells.iter().enumerate() {
            if matches!(c, '┌' | '┏') {
                let rest: String = cells[i + 1..].iter().collect();
                let end = rest.find(['┐', '┓'])?;
                let title = &rest[..end];
                if title
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w == name)
                {
                    let left = col;
                    let right = col + UnicodeWidthStr::width(&rest[..end]) + 1;
                    let bottom = (top + 1..lines.len()).find(|&y| {
                        cell_at(lines[y], left).is_some_and(|c| matches!(c, '└' | '┗'))
                    })?;
                    return Some((left, top, right, bottom));
                }
            }
            col += UnicodeWidthStr::width(c.to_string().as_str());
        }
    }
    None
}

/// The character at display column `col` of a captured line.
fn cell_at(line: &str, col: usize) -> Option<char> {
    let mut x = 0;
    for c in line.chars() {
        if x == col {
            return Some(c);
        }
        x += UnicodeWidthStr::width(c.to_string().as_str());
        if x > col {
            return None;
        }
    }
    None
}

/// The parts of a captured line left of column `left` and right of column `right`.
fn outside(line: &str, left: usize, right: usize) -> String {
    let mut x = 0;
    let mut out = String::new();
    for c in line.chars() {
        if x < left || x > right {
            out.push(c);
        }
        x += UnicodeWidthStr::width(c.to_string().as_str());
    }
    out
}

#[test]
fn a_step_printing_escape_sequences_cannot_steer_the_terminal() {
    let t = Tmux::new("hostile");
    let list = t.path("hostile.yaml");
    let file = t.path("hostile.txt");
    std::fs::write(
        &list,
        format!(
            "name: Hostile output\nphases:\n  - name: Print\n    steps:\n      - {{ id: spew, title: Print what attackers print, run: \"cat '{}'\" }}\n      - {{ id: later, title: A step that waits its turn, run: \"true\" }}\n",
            file.display()
        ),
    )
    .unwrap();
    t.launch((120, 60), &[], "", &["run", list.to_str().unwrap()]);
    let before = t.wait_cockpit("Hostile output");
    // Let whatever reaches tmux act on it: renames (`ESC k`) and the clipboard (OSC 52) are
    // allowed, and the window name no longer follows the running command.
    for opt in [
        &["set-option", "-g", "allow-rename", "on"][..],
        &["set-option", "-g", "set-clipboard", "on"][..],
        &["set-option", "-w", "-t", "t", "automatic-rename", "off"][..],
        &["rename-window", "-t", "t", "cockpit"][..],
    ] {
        let out = t.tmux(opt);
        assert!(
            out.status.success(),
            "{opt:?}: {}",
            common::tmux::out_text(&out)
        );
    }
    let title = t.display("#{pane_title}");
    let window = t.display("#{window_name}");
    let out_box =
        pane_box(&before, "output").unwrap_or_else(|| panic!("no output pane:\n{before}"));
    let inner = out_box.2 - out_box.0 - 1;

    // Lines whose last character sits in the pane's last cells: drawn one or two cells wider
    // than laid out, they would spill over the border.
    let mut lines: Vec<String> = Vec::new();
    let mut markers: Vec<String> = ["PWNED", "cleared", "after-", "...."]
        .map(String::from)
        .to_vec();
    markers.extend((1..=HOSTILE.len()).map(|n| format!("H{n:02}")));
    for pad in inner.saturating_sub(5)..inner.saturating_sub(1) {
        let head = format!("E{pad:03}");
        markers.push(head.clone());
        let fill = ".".repeat(pad - head.len());
        lines.push(format!("{head}{fill}\u{1f44d}\u{1f3fd}"));
        lines.push(format!("{head}{fill}\u{2764}\u{fe0f}x"));
    }
    lines.extend(HOSTILE.iter().map(|h| h.to_string()));
    lines.push("END-OF-HOSTILE".into());
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let raw = t.record();
    t.send(&["Enter"]);
    t.wait_journal("spew finished", |ev| {
        ev.iter()
            .any(|e| e["event"] == "step_finished" && e["step"] == "spew")
    });
    let screen = t.wait_for("the output pane to show the last line", |s| {
        s.contains("END-OF-HOSTILE")
    });
    // A clock tick or two redraws only what changed: a spilled character would stay.
    let screen = poll(
        "two more frames",
        WAIT,
        || {
            let s = t.capture();
            (s.lines().next() != screen.lines().next()).then_some(s)
        },
        || t.capture(),
    );
    let screen = poll(
        "one more frame",
        WAIT,
        || {
            let s = t.capture();
            (s.lines().next() != screen.lines().next()).then_some(s)
        },
        || t.capture(),
    );

    assert_eq!(t.display("#{pane_title}"), title, "the title was changed");
    assert_eq!(
        t.display("#{window_name}"),
        window,
        "the window was renamed"
    );
    assert_eq!(
        t.display("#{alternate_on}"),
        "1",
        "the cockpit left the alternate screen"
    );
    let buffers = t.tmux(&["list-buffers"]);
    assert!(
        String::from_utf8_lossy(&buffers.stdout).trim().is_empty(),
        "something reached the clipboard: {}",
        common::tmux::out_text(&buffers)
    );

    // The other panes, the header and the footer are still there.
    assert!(
        screen.lines().next().unwrap().contains("Hostile output"),
        "{screen}"
    );
    assert!(screen.contains("A step that waits its turn"), "{screen}");
    assert!(
        screen
            .lines()
            .last()
            .is_some_and(|l| l.contains("help") || l.contains("quit")),
        "{screen}"
    );
    // The output pane is where it was, whole, and nothing of the output is outside it.
    assert_eq!(pane_box(&screen, "output"), Some(out_box), "{screen}");
    let rows: Vec<&str> = screen.lines().collect();
    let (left, top, right, bottom) = out_box;
    for (y, row) in rows.iter().enumerate() {
        if y > top && y < bottom {
            assert!(
                cell_at(row, left).is_some_and(|c| matches!(c, '│' | '┃'))
                    && cell_at(row, right).is_some_and(|c| matches!(c, '│' | '┃')),
                "the output pane's border is broken on row {y}:\n{screen}"
            );
        }
        let out = if (top..=bottom).contains(&y) {
            outside(row, left, right)
        } else {
            row.to_string()
        };
        for marker in &markers {
            assert!(
                !out.contains(marker.as_str()),
                "{marker:?} outside the output pane on row {y}:\n{screen}"
            );
        }
    }
    assert!(!screen.contains("PWNED"), "{screen}");
    for n in 1..=HOSTILE.len() {
        assert!(
            screen.contains(&format!("H{n:02}")),
            "H{n:02} missing:\n{screen}"
        );
    }

    // Nothing but drawing reached the terminal: no strings (OSC, DCS, APC, PM, SOS, tmux
    // names), no 8-bit controls, no invisible characters.
    let written = std::fs::read(&raw).unwrap_or_default();
    let written = String::from_utf8_lossy(&written);
    assert!(!written.is_empty(), "nothing was recorded from the pane");
    for seq in [
        "\x1b]", "\x1bP", "\x1b_", "\x1b^", "\x1bX", "\x1bk", "\x1bc", "PWNED",
    ] {
        assert!(!written.contains(seq), "{seq:?} reached the terminal");
    }
    let bad: Vec<char> = written
        .chars()
        .filter(|c| {
            ('\u{80}'..='\u{9f}').contains(c) || (forbidden(*c) && !"\x1b\r\n\x08".contains(*c))
        })
        .collect();
    assert!(bad.is_empty(), "reached the terminal: {bad:?}");
    // The second step never ran, and the run is still whole.
    let events = journal_events(&t.runs_dir());
    assert!(!events.iter().any(|e| e["step"] == "later"), "{events:#?}");
}
