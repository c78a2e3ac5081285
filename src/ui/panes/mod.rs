//! One module per pane; each draws inside the block the frame gives it.

pub mod checklist;
pub mod details;
pub mod events;
pub mod logs;
pub mod output;
pub mod pods;
pub mod probes;
pub mod rollout;
pub mod timeline;
pub mod unavailable;

use crate::config::layout::PaneId;
use crate::core::model::Model;
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;

/// What a pane draws with.
pub struct Ctx<'a, 'f> {
    pub frame: &'a mut Frame<'f>,
    pub m: &'a Model,
    pub theme: &'a Theme,
    pub focused: bool,
}

/// Draws `pane` inside `area` (the inside of its border).
pub fn draw(cx: &mut Ctx, pane: PaneId, area: Rect) {
    match pane {
        PaneId::Checklist => checklist::draw(cx, area),
        PaneId::Output => output::draw(cx, area),
        PaneId::Details => details::draw(cx, area),
        PaneId::Rollout => rollout::draw(cx, area),
        PaneId::Pods => pods::draw(cx, area),
        PaneId::Events => events::draw(cx, area),
        PaneId::Logs => logs::draw(cx, area),
        PaneId::Probes => probes::draw(cx, area),
        PaneId::Timeline => timeline::draw(cx, area),
    }
}

/// What a pane's title says after its number and name (`tests #2 · FOLLOW`).
pub fn title_extra(pane: PaneId, m: &Model) -> String {
    match pane {
        PaneId::Checklist => checklist::title_extra(m),
        PaneId::Output => output::title_extra(m),
        PaneId::Details => details::title_extra(m),
        _ => String::new(),
    }
}
