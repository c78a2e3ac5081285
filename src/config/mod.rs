//! Pure parsing and validation of checklists (and later layouts and keymaps).

pub mod markdown;
