//! Rendering only: draws the model; no IO.

pub mod layout;
