//! Pure parsing and validation of checklists (and later layouts and keymaps).

pub mod checklist;
pub mod decode;
pub mod diag;
pub mod keymap;
pub mod layout;
pub mod load;
pub mod markdown;
pub mod parts;
pub mod units;
pub mod yaml;
