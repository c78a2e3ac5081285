//! Layout engine: pane rectangles from a layout tree (pure arithmetic, no drawing).
//!
//! Along a split, `Cells(n)` children are served first, then `Percent(p)` of the split's
//! length, then `Rest` children share what is left (the remainder goes to the last one; with
//! no `Rest` child, leftovers go to the last child) so children always tile their parent
//! exactly. `min` is then honoured by shrinking siblings — `Rest` ones first, then percent,
//! then fixed cells — never below their own `min`. A pane smaller than
//! [`MIN_PANE_WIDTH`]×[`MIN_PANE_HEIGHT`] is dropped and the split is allocated again without
//! it, so its neighbours take the room instead of drawing garbage.

use crate::config::layout::{Dir, Layout, LayoutNode, NodeKind, PaneId, Size};
use ratatui::layout::Rect;

/// Narrower than this a pane cannot show a border plus a readable line.
pub const MIN_PANE_WIDTH: u16 = 12;
/// Shorter than this a pane has no room for a line between its borders.
pub const MIN_PANE_HEIGHT: u16 = 3;

/// Where each pane goes in `area`: non-overlapping, inside `area`, and together covering all
/// of it (or empty when nothing fits). With `zoom`, that pane alone takes the whole area.
pub fn compute(layout: &Layout, area: Rect, zoom: Option<PaneId>) -> Vec<(PaneId, Rect)> {
    if area.is_empty() {
        return Vec::new();
    }
    match zoom {
        Some(pane) if fits(area) => vec![(pane, area)],
        Some(_) => Vec::new(),
        None => place(&layout.root, area),
    }
}

fn fits(r: Rect) -> bool {
    r.width >= MIN_PANE_WIDTH && r.height >= MIN_PANE_HEIGHT
}

fn place(node: &LayoutNode, area: Rect) -> Vec<(PaneId, Rect)> {
    match &node.kind {
        NodeKind::Pane(p) if fits(area) => vec![(*p, area)],
        NodeKind::Pane(_) => Vec::new(),
        NodeKind::Split { dir, children } => place_split(*dir, children, area),
    }
}

/// Allocates the split, and while some child cannot show anything, drops the smallest such
/// child (the later one on ties: reading order is priority) and allocates again.
fn place_split(dir: Dir, children: &[LayoutNode], area: Rect) -> Vec<(PaneId, Rect)> {
    let len = match dir {
        Dir::Rows => area.height,
        Dir::Cols => area.width,
    };
    let mut alive: Vec<&LayoutNode> = children.iter().collect();
    while !alive.is_empty() {
        let lens = allocate(&alive, len);
        let mut out = Vec::new();
        let mut failed: Option<(u16, usize)> = None;
        let mut offset = 0;
        for (k, (node, &l)) in alive.iter().zip(&lens).enumerate() {
            let placed = if l == 0 {
                Vec::new()
            } else {
                place(node, slice(area, dir, offset, l))
            };
            offset += l;
            if placed.is_empty() {
                if failed.is_none_or(|(fl, _)| l <= fl) {
                    failed = Some((l, k));
                }
            } else {
                out.extend(placed);
            }
        }
        match failed {
            None => return out,
            Some((_, k)) => {
                alive.remove(k);
            }
        }
    }
    Vec::new()
}

fn slice(area: Rect, dir: Dir, offset: u16, len: u16) -> Rect {
    match dir {
        Dir::Rows => Rect {
            y: area.y + offset,
            height: len,
            ..area
        },
        Dir::Cols => Rect {
            x: area.x + offset,
            width: len,
            ..area
        },
    }
}

/// Lengths along the split for `nodes`, summing to exactly `len` (when there is a node).
fn allocate(nodes: &[&LayoutNode], len: u16) -> Vec<u16> {
    let mut out = vec![0u16; nodes.len()];
    let mut left = len;
    for (i, node) in nodes.iter().enumerate() {
        if let Size::Cells(c) = node.size {
            out[i] = c.min(left);
            left -= out[i];
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        if let Size::Percent(p) = node.size {
            let want = u32::from(len) * u32::from(p) / 100;
            out[i] = u16::try_from(want).unwrap_or(u16::MAX).min(left);
            left -= out[i];
        }
    }
    let rest: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].size == Size::Rest)
        .collect();
    match rest.last() {
        Some(&last) => {
            let share = left / rest.len() as u16;
            for &i in &rest {
                out[i] = share;
            }
            out[last] += left - share * rest.len() as u16;
        }
        None => {
            if let Some(last) = out.last_mut() {
                *last += left;
            }
        }
    }
    honour_mins(nodes, &mut out);
    out
}

fn honour_mins(nodes: &[&LayoutNode], out: &mut [u16]) {
    let donors: [fn(&Size) -> bool; 3] = [
        |s| *s == Size::Rest,
        |s| matches!(s, Size::Percent(_)),
        |s| matches!(s, Size::Cells(_)),
    ];
    for i in 0..nodes.len() {
        let mut need = nodes[i].min.saturating_sub(out[i]);
        for is_donor in donors {
            while need > 0 {
                // One cell at a time from whoever has the most to spare keeps donors even.
                let donor = (0..nodes.len())
                    .filter(|&j| j != i && is_donor(&nodes[j].size))
                    .map(|j| (out[j].saturating_sub(nodes[j].min), j))
                    .filter(|(spare, _)| *spare > 0)
                    .max();
                let Some((_, j)) = donor else { break };
                out[j] -= 1;
                out[i] += 1;
                need -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layout::{builtin, builtin_names, load_layout};
    use PaneId::*;

    const SPEC: &str = "name: spec\nsplit: rows\nchildren:\n  - size: 60%\n    split: cols\n    children:\n      - { pane: checklist, size: 35% }\n      - { pane: output }\n  - size: 40%\n    min: 6\n    split: cols\n    children: [ { pane: rollout, size: 30% }, { pane: pods, size: 30% }, { pane: logs } ]\n";

    fn layout(text: &str) -> Layout {
        load_layout(text, "t.yaml").unwrap()
    }

    fn rect(x: u16, y: u16, w: u16, h: u16) -> Rect {
        Rect::new(x, y, w, h)
    }

    /// Inside, no overlaps, full coverage (or nothing), every pane big enough, none twice.
    fn check_tiling(name: &str, panes: &[(PaneId, Rect)], area: Rect) {
        let ctx = format!("{name} at {}x{}", area.width, area.height);
        if panes.is_empty() {
            return;
        }
        let mut total = 0u32;
        for (i, (p, r)) in panes.iter().enumerate() {
            assert!(
                area.contains(r.as_position()) && r.right() <= area.right(),
                "{ctx}: {p:?} {r:?} outside"
            );
            assert!(r.bottom() <= area.bottom(), "{ctx}: {p:?} {r:?} outside");
            assert!(fits(*r), "{ctx}: {p:?} too small: {r:?}");
            for (q, s) in &panes[i + 1..] {
                assert!(!r.intersects(*s), "{ctx}: {p:?} {r:?} overlaps {q:?} {s:?}");
                assert_ne!(p, q, "{ctx}: {p:?} placed twice");
            }
            total += r.area();
        }
        assert_eq!(total, area.area(), "{ctx}: gaps in {panes:?}");
    }

    #[test]
    fn spec_example_at_120x40() {
        let got = compute(&layout(SPEC), rect(0, 0, 120, 40), None);
        assert_eq!(
            got,
            vec![
                (Checklist, rect(0, 0, 42, 24)),
                (Output, rect(42, 0, 78, 24)),
                (Rollout, rect(0, 24, 36, 16)),
                (Pods, rect(36, 24, 36, 16)),
                (Logs, rect(72, 24, 48, 16)),
            ]
        );
        // Offsets follow the area's origin, and odd lengths leave no gap.
        let got = compute(&layout(SPEC), rect(3, 2, 121, 41), None);
        check_tiling("spec", &got, rect(3, 2, 121, 41));
        assert_eq!(got[0].1, rect(3, 2, 42, 24));
    }

    #[test]
    fn builtins_tile_every_size() {
        for name in builtin_names() {
            let l = builtin(name).unwrap();
            let widths = (20..=300).step_by(7).chain([80, 120, 200, 300]);
            for w in widths {
                for h in (8..=80).step_by(3).chain([24, 40, 80]) {
                    let area = rect(1, 1, w, h);
                    check_tiling(name, &compute(&l, area, None), area);
                }
            }
        }
    }

    #[test]
    fn builtins_show_their_panes_where_they_are_meant_for() {
        let shown = |name: &str, w, h| -> Vec<PaneId> {
            let mut p: Vec<PaneId> = compute(&builtin(name).unwrap(), rect(0, 0, w, h), None)
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            p.sort();
            p
        };
        // 80×24 minus a header and a footer line.
        assert_eq!(shown("compact", 80, 22), vec![Checklist, Output, Details]);
        assert_eq!(
            shown("pair", 120, 38),
            vec![Output, Details, Rollout, Probes]
        );
        assert_eq!(
            shown("pair", 80, 22),
            vec![Output, Details, Rollout, Probes]
        );
        assert_eq!(shown("default", 120, 38).len(), 7);
        assert!(shown("default", 120, 38).contains(&Probes));
        assert_eq!(shown("wide", 200, 50).len(), 9);
        assert!(shown("default", 80, 22).contains(&Checklist));
        assert!(shown("default", 80, 22).contains(&Output));
    }

    #[test]
    fn zoom_takes_the_whole_area() {
        let area = rect(0, 1, 80, 22);
        assert_eq!(compute(&layout(SPEC), area, Some(Logs)), vec![(Logs, area)]);
        assert!(compute(&layout(SPEC), rect(0, 0, 5, 2), Some(Logs)).is_empty());
    }

    #[test]
    fn min_is_honoured_by_shrinking_rest_first() {
        let l = layout(
            "name: m\nsplit: rows\nchildren:\n  - { pane: output }\n  - { pane: checklist, size: 20% }\n  - { pane: logs, size: 10%, min: 8 }\n",
        );
        let got = compute(&l, rect(0, 0, 40, 30), None);
        // logs wants 3 rows but needs 8: the Rest pane (output) gives the 5.
        assert_eq!(
            got,
            vec![
                (Output, rect(0, 0, 40, 16)),
                (Checklist, rect(0, 16, 40, 6)),
                (Logs, rect(0, 22, 40, 8)),
            ]
        );
        // In the SPEC example the 40% row keeps 6 rows even when 40% is fewer.
        let got = compute(&layout(SPEC), rect(0, 0, 120, 12), None);
        assert_eq!(got.last().unwrap().1.height, 6);
    }

    #[test]
    fn small_areas_drop_panes_instead_of_squashing_them() {
        assert!(compute(&layout(SPEC), rect(0, 0, 0, 10), None).is_empty());
        assert!(compute(&layout(SPEC), rect(0, 0, 10, 0), None).is_empty());
        assert!(compute(&layout(SPEC), rect(0, 0, 11, 40), None).is_empty());
        // 30 columns: the 35% checklist (10 cols) is dropped and output takes the row.
        let got = compute(&layout(SPEC), rect(0, 0, 30, 20), None);
        assert_eq!(got[0], (Output, rect(0, 0, 30, 12)));
        check_tiling("spec", &got, rect(0, 0, 30, 20));
    }
}
