//! Cockpit layouts (SPEC §5): a tree of row/column splits with sized panes, read from YAML with
//! every problem reported at file:line:col, plus the built-in layouts and `--layout` resolution.

use super::decode::Decoder;
use super::diag::{Diagnostic, Pos, suggest};
use super::yaml::{self, Node};
use std::path::{Path, PathBuf};

/// Every pane a layout can place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneId {
    Checklist,
    Output,
    Details,
    Rollout,
    Pods,
    Events,
    Logs,
    Probes,
    Timeline,
}

pub const PANES: &[(&str, PaneId)] = &[
    ("checklist", PaneId::Checklist),
    ("output", PaneId::Output),
    ("details", PaneId::Details),
    ("rollout", PaneId::Rollout),
    ("pods", PaneId::Pods),
    ("events", PaneId::Events),
    ("logs", PaneId::Logs),
    ("probes", PaneId::Probes),
    ("timeline", PaneId::Timeline),
];

impl PaneId {
    pub fn name(self) -> &'static str {
        PANES.iter().find(|p| p.1 == self).map_or("?", |p| p.0)
    }

    pub fn from_name(name: &str) -> Option<PaneId> {
        PANES.iter().find(|p| p.0 == name).map(|p| p.1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Rows,
    Cols,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Percent(u16),
    Cells(u16),
    /// Shares what is left with the other `Rest` siblings.
    Rest,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Pane(PaneId),
    Split { dir: Dir, children: Vec<LayoutNode> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayoutNode {
    pub size: Size,
    pub min: u16,
    pub kind: NodeKind,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub name: String,
    pub root: LayoutNode,
    /// `large: true`: the details pane shows the current step in large type (pair review).
    pub large: bool,
}

impl Layout {
    /// Panes in reading order: the order of focus keys 1–9 and Tab.
    pub fn panes(&self) -> Vec<PaneId> {
        fn walk(n: &LayoutNode, out: &mut Vec<PaneId>) {
            match &n.kind {
                NodeKind::Pane(p) => out.push(*p),
                NodeKind::Split { children, .. } => children.iter().for_each(|c| walk(c, out)),
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

/// The layouts shipped in the binary, so the cockpit works without a `layouts/` directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../layouts/default.yaml")),
    ("compact", include_str!("../../layouts/compact.yaml")),
    ("pair", include_str!("../../layouts/pair.yaml")),
    ("wide", include_str!("../../layouts/wide.yaml")),
];

const NODE_FIELDS: &[&str] = &["pane", "split", "children", "size", "min"];
const ROOT_FIELDS: &[&str] = &["name", "large", "pane", "split", "children", "size", "min"];
const SPLITS: &[&str] = &["rows", "cols"];
const SIZE_HINT: &str =
    "sizes are N% or N cells: 1% to 100%, or at least 1 cell; leave `size` out to share the rest";
const NODE_HINT: &str =
    "a node is either a pane (`pane: NAME`) or a split (`split: rows|cols` with `children`)";

/// A built-in layout by name (parsed on each call; they are tiny).
pub fn builtin(name: &str) -> Option<Layout> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    load_layout(text, &format!("layouts/{name}.yaml (built-in)")).ok()
}

pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// True when the YAML looks like a layout rather than a checklist (for `shipdeck check`).
pub fn looks_like_layout(text: &str) -> bool {
    let Ok(root) = yaml::parse(text) else {
        return false;
    };
    root.as_map().is_some()
        && (root.get("split").is_some() || root.get("pane").is_some())
        && root.get("phases").is_none()
}

/// Parses and validates layout YAML text. `file` names the source in diagnostics.
pub fn load_layout(text: &str, file: &str) -> Result<Layout, Vec<Diagnostic>> {
    let mut dec = Decoder::new(file);
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            dec.error(
                e.pos,
                format!("YAML syntax error: {}", e.message),
                "check indentation, quotes and brackets near here",
            );
            return Err(dec.diags.into_sorted());
        }
    };
    let layout = decode_layout(&mut dec, &root);
    if dec.diags.is_empty() {
        Ok(layout)
    } else {
        Err(dec.diags.into_sorted())
    }
}

/// Reads and loads a layout file; an unreadable file is reported like any other error.
pub fn load_layout_file(path: &Path) -> Result<Layout, Vec<Diagnostic>> {
    let text = super::load::read_source(path).map_err(|d| vec![d])?;
    load_layout(&text, &path.display().to_string())
}

/// `--layout NAME|FILE`: a file when it looks like a path (or names an existing file), else
/// `<dir>/layouts/NAME.yaml` in each search dir, then the built-in of that name. Without the
/// flag, the first `layouts/default.yaml` found, else the built-in default.
pub fn resolve_layout(
    arg: Option<&str>,
    search_dirs: &[PathBuf],
) -> Result<Layout, Vec<Diagnostic>> {
    let name = arg.unwrap_or("default");
    if let Some(arg) = arg {
        let is_path = arg.ends_with(".yaml")
            || arg.ends_with(".yml")
            || arg.contains('/')
            || Path::new(arg).is_file();
        if is_path {
            return load_layout_file(Path::new(arg));
        }
    }
    let file = format!("{name}.yaml");
    if let Some(path) = search_dirs
        .iter()
        .map(|d| d.join("layouts").join(&file))
        .find(|p| p.is_file())
    {
        return load_layout_file(&path);
    }
    if let Some(layout) = builtin(name) {
        return Ok(layout);
    }
    Err(vec![unknown_layout(name, search_dirs)])
}

fn unknown_layout(name: &str, search_dirs: &[PathBuf]) -> Diagnostic {
    let mut known = builtin_names()
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for dir in search_dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("layouts")) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && !known.iter().any(|k| k == stem)
            {
                known.push(stem.to_string());
            }
        }
    }
    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
    let searched: Vec<String> = search_dirs
        .iter()
        .map(|d| d.join("layouts").display().to_string())
        .collect();
    let mut hint = match suggest(name, &refs) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    hint.push_str(&format!(
        "built-in layouts: {}; searched: {}; or pass a file path",
        builtin_names().join(", "),
        if searched.is_empty() {
            "no directories".to_string()
        } else {
            searched.join(", ")
        }
    ));
    Diagnostic {
        file: "--layout".into(),
        pos: Pos::new(1, 1),
        message: format!("unknown layout `{name}`"),
        hint: Some(hint),
    }
}

fn decode_layout(dec: &mut Decoder, root: &Node) -> Layout {
    if root.as_map().is_none() {
        dec.error(
            root.pos,
            "a layout must be a mapping with `name` and `split` (or `pane`)",
            "see layouts/default.yaml for an example",
        );
        return Layout {
            name: String::new(),
            root: placeholder(root.pos),
            large: false,
        };
    }
    let name = match root.get("name") {
        Some(v) => dec.raw_string(v, "name").unwrap_or_default(),
        None => {
            dec.error(
                root.pos,
                "the layout has no `name`",
                "add `name: NAME` at the top",
            );
            String::new()
        }
    };
    let mut seen = Vec::new();
    let mut node = decode_node(dec, root, ROOT_FIELDS, "the layout", &mut seen);
    // The root always gets the whole screen.
    node.size = Size::Rest;
    let large = root.get("large").is_some_and(|v| dec.boolean(v, "large"));
    Layout {
        name,
        root: node,
        large,
    }
}

fn placeholder(pos: Pos) -> LayoutNode {
    LayoutNode {
        size: Size::Rest,
        min: 0,
        kind: NodeKind::Split {
            dir: Dir::Rows,
            children: Vec::new(),
        },
        pos,
    }
}

fn decode_node(
    dec: &mut Decoder,
    node: &Node,
    allowed: &[&str],
    what: &str,
    seen: &mut Vec<(PaneId, Pos)>,
) -> LayoutNode {
    let before = dec.diags.list.len();
    let entries = dec.fields(node, what, allowed);
    // A misspelt key explains a missing `pane`/`split`/`children`: don't report both.
    let misspelt = dec.diags.list.len() > before;
    let mut out = placeholder(node.pos);
    let (mut pane, mut split, mut children) = (None, None, None);
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            "size" => out.size = decode_size(dec, v).unwrap_or(Size::Rest),
            "min" => out.min = decode_min(dec, v),
            "pane" => pane = Some(v),
            "split" => split = Some((k, v)),
            "children" => children = Some((k, v)),
            _ => {}
        }
    }
    if node.as_map().is_none() {
        return out;
    }
    if let Some(v) = pane {
        if let Some((k, _)) = split.or(children) {
            dec.error(
                k.pos,
                "a node cannot have both `pane` and `split`/`children`",
                format!("{NODE_HINT}; put the pane inside `children`"),
            );
        }
        if let Some(p) = decode_pane(dec, v, seen) {
            out.kind = NodeKind::Pane(p);
        }
    }
    if split.is_none() && children.is_none() {
        if pane.is_none() && !misspelt {
            dec.error(
                node.pos,
                "this node has neither `pane` nor `split`",
                NODE_HINT,
            );
        }
        return out;
    }
    let dir = match split {
        Some((_, v)) => decode_dir(dec, v),
        None => {
            if !misspelt && pane.is_none() {
                dec.error(
                    node.pos,
                    "`children` without `split`",
                    "add `split: rows` (stacked) or `split: cols` (side by side)",
                );
            }
            None
        }
    };
    let kids = match children {
        Some((k, v)) => decode_children(dec, k, v, seen),
        None => {
            if !misspelt && pane.is_none() {
                dec.error(
                    node.pos,
                    "the split has no `children`",
                    "list the panes or splits it holds under `children:`",
                );
            }
            Vec::new()
        }
    };
    if pane.is_none() {
        out.kind = NodeKind::Split {
            dir: dir.unwrap_or(Dir::Rows),
            children: kids,
        };
    }
    out
}

fn decode_children(
    dec: &mut Decoder,
    key: &Node,
    v: &Node,
    seen: &mut Vec<(PaneId, Pos)>,
) -> Vec<LayoutNode> {
    let items = match v.as_seq() {
        Some(items) => items,
        None if v.is_null() => &[],
        None => {
            dec.error(
                v.pos,
                format!("`children` must be a list, found {}", v.kind_name()),
                "write each child on a line starting with `- `",
            );
            return Vec::new();
        }
    };
    if items.is_empty() {
        dec.error(
            v.pos,
            "`children` is empty",
            "a split needs at least one child; or make this node a `pane`",
        );
    }
    let kids: Vec<LayoutNode> = items
        .iter()
        .map(|c| decode_node(dec, c, NODE_FIELDS, "a layout node", seen))
        .collect();
    let percent: u32 = kids
        .iter()
        .map(|c| match c.size {
            Size::Percent(p) => u32::from(p),
            _ => 0,
        })
        .sum();
    if percent > 100 {
        dec.error(
            key.pos,
            format!("the sizes of these `children` add up to {percent}%, more than 100%"),
            "sibling percentages must add up to 100% or less; leave one `size` out to take the rest",
        );
    }
    kids
}

fn decode_dir(dec: &mut Decoder, v: &Node) -> Option<Dir> {
    match v.as_str() {
        Some("rows") => Some(Dir::Rows),
        Some("cols") => Some(Dir::Cols),
        other => {
            let text = other.unwrap_or("");
            let hint = match suggest(text, SPLITS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "`rows` stacks the children top to bottom, `cols` puts them side by side"
                    .to_string(),
            };
            let found = if v.is_null() || other.is_none() {
                v.kind_name().to_string()
            } else {
                format!("`{text}`")
            };
            dec.error(
                v.pos,
                format!("`split` must be rows or cols, found {found}"),
                hint,
            );
            None
        }
    }
}

fn decode_pane(dec: &mut Decoder, v: &Node, seen: &mut Vec<(PaneId, Pos)>) -> Option<PaneId> {
    let names: Vec<&str> = PANES.iter().map(|p| p.0).collect();
    let text = match v.as_str() {
        Some(t) if !v.is_null() => t,
        _ => {
            dec.error(
                v.pos,
                format!("`pane` must be a pane name, found {}", v.kind_name()),
                format!("panes: {}", names.join(", ")),
            );
            return None;
        }
    };
    let Some(pane) = PaneId::from_name(text) else {
        let list = format!("panes: {}", names.join(", "));
        let hint = match suggest(text, &names) {
            Some(s) => format!("did you mean `{s}`? {list}"),
            None => list,
        };
        dec.error(v.pos, format!("unknown pane `{text}`"), hint);
        return None;
    };
    if let Some((_, first)) = seen.iter().find(|(p, _)| *p == pane) {
        dec.error(
            v.pos,
            format!("pane `{text}` appears twice in this layout"),
            format!(
                "it is already placed at line {}; each pane can appear once",
                first.line
            ),
        );
    } else {
        seen.push((pane, v.pos));
    }
    Some(pane)
}

fn decode_size(dec: &mut Decoder, v: &Node) -> Option<Size> {
    let text = v.as_str().filter(|_| !v.is_null()).unwrap_or("");
    let t = text.trim();
    let size = match t.strip_suffix('%') {
        Some(n) => n
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .map(Size::Percent),
        None => t.parse::<u16>().ok().filter(|n| *n >= 1).map(Size::Cells),
    };
    if size.is_none() {
        let found = if v.as_str().is_some() && !v.is_null() {
            format!("`{text}`")
        } else {
            v.kind_name().to_string()
        };
        dec.error(v.pos, format!("bad size {found}"), SIZE_HINT);
    }
    size
}

fn decode_min(dec: &mut Decoder, v: &Node) -> u16 {
    let Some(n) = dec.unsigned(v, "min") else {
        return 0;
    };
    u16::try_from(n).unwrap_or_else(|_| {
        dec.error(
            v.pos,
            format!("`min` of {n} cells is too large"),
            "e.g. `min: 6`",
        );
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "name: default\nsplit: rows\nchildren:\n  - size: 60%\n    split: cols\n    children:\n      - { pane: checklist, size: 35% }\n      - { pane: output }\n  - size: 40%\n    min: 6\n    split: cols\n    children: [ { pane: rollout, size: 30% }, { pane: pods, size: 30% }, { pane: logs } ]\n";

    #[test]
    fn spec_example_decodes() {
        let l = load_layout(SPEC, "l.yaml").unwrap();
        assert_eq!(l.name, "default");
        use PaneId::*;
        assert_eq!(l.panes(), vec![Checklist, Output, Rollout, Pods, Logs]);
        let NodeKind::Split { dir, children } = &l.root.kind else {
            panic!("root is a split")
        };
        assert_eq!(*dir, Dir::Rows);
        assert_eq!((children[1].size, children[1].min), (Size::Percent(40), 6));
        assert_eq!(children[0].pos, Pos::new(4, 5));
    }

    #[test]
    fn builtins_parse_and_route() {
        for name in builtin_names() {
            let l = builtin(name).unwrap_or_else(|| panic!("built-in {name} does not parse"));
            assert_eq!(l.name, name);
        }
        assert!(looks_like_layout(SPEC));
        assert!(looks_like_layout("name: z\npane: logs\n"));
        assert!(!looks_like_layout("name: x\nphases: []\n"));
        assert!(!looks_like_layout("name: x\nsplit: rows\nphases: []\n"));
    }

    #[test]
    fn reports_every_error() {
        let text = "split: colz\nchildren:\n  - { pane: chcklist, size: 0% }\n  - { pane: logs }\n  - { pane: logs, min: x }\n";
        let errs = load_layout(text, "l.yaml").unwrap_err();
        let got: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        assert_eq!(errs.len(), 6, "{got:#?}");
        assert!(got[0].starts_with("l.yaml:1:1: the layout has no `name`"));
        assert!(got[1].contains("1:8: `split` must be rows or cols, found `colz`"));
        assert!(got[1].contains("did you mean `cols`?"));
        assert!(got[2].contains("3:13: unknown pane `chcklist`"));
        assert!(got[3].contains("3:29: bad size `0%`"));
        assert!(got[4].contains("5:13: pane `logs` appears twice"));
        assert!(got[5].contains("5:24: `min` must be a whole number"));
    }
}
