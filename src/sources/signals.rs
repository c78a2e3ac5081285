//! SIGTERM, SIGHUP and SIGINT as messages, for the cockpit and headless runs alike.

use crate::core::msg::{Msg, SignalKind};
use tokio::sync::mpsc;

pub fn spawn(tx: mpsc::Sender<Msg>) {
    use tokio::signal::unix::{SignalKind as K, signal};
    for (kind, msg) in [
        (K::terminate(), SignalKind::Terminate),
        (K::hangup(), SignalKind::Hangup),
        (K::interrupt(), SignalKind::Interrupt),
    ] {
        let tx = tx.clone();
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(Msg::Signal(msg)).await.is_err() {
                    break;
                }
            }
        });
    }
}
