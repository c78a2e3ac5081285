//! The app loop, the only owner of the model: receive → update → execute → draw when dirty.

use crate::config::layout::Layout;
use crate::core::model::Model;
use crate::core::msg::{Msg, SignalKind};
use crate::core::update::update;
use crate::exec::{Executor, Next, finished};
use crate::sources::runner::{self, RunnerEvent};
use crate::tui::{Tui, install_panic_hook};
use crate::ui::theme::Theme;
use chrono::Utc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// At most 30 frames a second.
const FRAME: Duration = Duration::from_millis(33);
/// Background news alone (log lines, step output, probe samples, cluster changes, the clock)
/// redraws at most this often: a flood of it costs two frames a second, not thirty, and
/// everything that arrived is there at the next frame. Keys and step states redraw at once.
/// (250 ms cost a fifth more CPU in the steady state, BENCHMARKS.md.)
const LAZY_FRAME: Duration = Duration::from_millis(500);
/// Messages handled before the screen gets a chance to catch up.
const BATCH: usize = 256;

pub struct App {
    pub model: Model,
    pub layout: Layout,
    pub theme: Theme,
    pub exec: Executor,
    pub rx: mpsc::Receiver<Msg>,
    pub tx: mpsc::Sender<Msg>,
    /// The last frame, for frames where only log lines came.
    pub last_frame: crate::ui::LastFrame,
}

/// Runs the cockpit until the user quits or a signal ends it; returns the exit code.
pub async fn run(mut app: App) -> std::io::Result<i32> {
    // Before the screen is taken: a bad value is reported on the plain terminal.
    let mut bench = crate::bench_exit::Bench::from_env();
    let mut received = crate::bench_exit::Received::from_env();
    install_panic_hook(crate::exec::on_panic);
    let mut tui = Tui::enter()?;
    let (pause_tx, pause_rx) = watch::channel(false);
    // Keys, resizes and signals have their own channel, read before anything else: during a
    // log flood the main channel holds hundreds of batches, and a key must not wait behind them.
    let (user_tx, mut user_rx) = mpsc::channel::<Msg>(64);
    // The terminal is read on a thread of its own: during a log flood the runtime's workers are
    // busy parsing lines, and a key must not wait for one of them to come free.
    let term_tx = user_tx.clone();
    let reader = std::thread::Builder::new()
        .name("terminal".into())
        .spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(crate::sources::terminal::run(term_tx, pause_rx));
            }
        });
    if let Err(e) = reader {
        drop(tui);
        return Err(e);
    }
    crate::sources::signals::spawn(user_tx);
    spawn_clock(app.tx.clone());
    let panic_key = std::env::var("SHIPDECK_TEST_PANIC_KEY")
        .ok()
        .and_then(|k| k.chars().next());
    if let Ok(size) = tui.terminal.size() {
        update(&mut app.model, Msg::Resize(size.width, size.height));
    }
    let mut last_draw: Option<Instant> = None;
    let mut key_waiting = false;
    loop {
        // A key is answered with the next frame at once; other changes keep the frame pace.
        if (key_waiting && app.model.dirty)
            || frame_wait(&app.model, last_draw).is_some_and(|w| w.is_zero())
        {
            key_waiting = false;
            let pods_known = app.model.kube.pods.len();
            draw(&mut tui, &mut app);
            last_draw = Some(Instant::now());
            if let Some(b) = bench.as_mut() {
                b.frames_drawn = true;
                b.drawn();
                b.pods_drawn = b.pods_drawn.max(pods_known);
                if b.done() {
                    drop(tui);
                    b.report(&app.model.logs);
                    return Ok(0);
                }
            }
        }
        let next = async {
            tokio::select! {
                biased;
                Some(m) = user_rx.recv() => Some(m),
                m = app.rx.recv() => m,
            }
        };
        let first = if let Some(wait) = frame_wait(&app.model, last_draw) {
            match tokio::time::timeout(wait, next).await {
                Ok(m) => m,
                Err(_) => continue,
            }
        } else {
            next.await
        };
        let Some(first) = first else { return Ok(1) };
        key_waiting |= matches!(first, Msg::Key(_));
        let mut batch = vec![first];
        while batch.len() < BATCH && !key_waiting {
            // A key ends the batch, so that its frame is drawn next.
            if let Ok(m) = user_rx.try_recv() {
                key_waiting = true;
                batch.push(m);
                break;
            }
            match app.rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        update(&mut app.model, Msg::Tick(Utc::now()));
        for msg in batch {
            if let Some(r) = received.as_mut() {
                r.observe(&msg);
            }
            match (bench.as_mut(), &msg) {
                (Some(b), Msg::Logs(lines)) => b.log_lines += lines.len(),
                (Some(b), Msg::Key(_)) => {
                    b.key_at.get_or_insert_with(Instant::now);
                }
                _ => {}
            }
            if let (Some(k), Msg::Key(key)) = (panic_key, &msg)
                && key.code == crate::core::keys::KeyCode::Char(k)
            {
                panic!("test panic requested with SHIPDECK_TEST_PANIC_KEY");
            }
            for effect in update(&mut app.model, msg) {
                match app.exec.apply(effect) {
                    Next::Continue => {}
                    Next::Quit(code) => {
                        drop(tui);
                        return Ok(code);
                    }
                    Next::Interactive(spec, step, attempt) => {
                        let _ = pause_tx.send(true);
                        tui.suspend();
                        use std::io::Write;
                        let _ = writeln!(
                            std::io::stdout(),
                            "\n── {step}: {} (the cockpit comes back when it ends)\n",
                            spec.command.lines().next().unwrap_or("")
                        );
                        let result = run_interactive(spec, &step, attempt, &mut app).await;
                        let done = finished(&result);
                        let _ = app.tx.try_send(Msg::StepDone {
                            step,
                            attempt,
                            done,
                        });
                        if crate::tui::hung_up() {
                            // The pane died while the step had the terminal: no SIGHUP came to us.
                            let _ = app.tx.try_send(Msg::Signal(SignalKind::Hangup));
                            continue;
                        }
                        let _ = tui.resume();
                        let _ = pause_tx.send(false);
                        app.model.dirty = true;
                        app.model.version += 1;
                    }
                }
            }
        }
        if let Some(b) = bench.as_ref()
            && b.done()
        {
            drop(tui);
            b.report(&app.model.logs);
            return Ok(0);
        }
    }
}

/// How long until the next frame is due, or None when nothing changed.
fn frame_wait(m: &crate::core::model::Model, last_draw: Option<Instant>) -> Option<Duration> {
    let every = if m.dirty {
        FRAME
    } else if m.lazy_dirty {
        LAZY_FRAME
    } else {
        return None;
    };
    Some(last_draw.map_or(Duration::ZERO, |t| every.saturating_sub(t.elapsed())))
}

fn draw(tui: &mut Tui, app: &mut App) {
    let (model, layout, theme, last) = (&app.model, &app.layout, &app.theme, &mut app.last_frame);
    // A vanished terminal (SIGHUP) makes drawing fail; the signal path ends the run cleanly.
    let _ = tui
        .terminal
        .draw(|f| crate::ui::render_reusing(f, model, layout, theme, last));
    app.model.dirty = false;
    app.model.lazy_dirty = false;
}

/// Runs a step that owns the terminal; its process group is journaled like any other.
async fn run_interactive(
    spec: runner::StepSpec,
    step: &str,
    attempt: u32,
    app: &mut App,
) -> runner::StepResult {
    let (ev_tx, mut ev_rx) = mpsc::channel::<RunnerEvent>(16);
    let (_abort_tx, abort_rx) = watch::channel(false);
    let run = runner::run_step(spec, app.exec.grace, ev_tx, abort_rx);
    tokio::pin!(run);
    loop {
        tokio::select! {
            result = &mut run => return result,
            Some(ev) = ev_rx.recv() => {
                if let RunnerEvent::Started { pid } = ev {
                    let msg = Msg::StepSpawned { step: step.to_string(), attempt, pgid: pid as i32 };
                    for effect in update(&mut app.model, msg) {
                        app.exec.apply(effect);
                    }
                }
            }
        }
    }
}

/// The 1 s clock: the only thing that redraws an idle screen.
fn spawn_clock(tx: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if tx.send(Msg::Tick(Utc::now())).await.is_err() {
                break;
            }
            if crate::tui::hung_up() {
                let _ = tx.send(Msg::Signal(SignalKind::Hangup)).await;
                break;
            }
        }
    });
}
