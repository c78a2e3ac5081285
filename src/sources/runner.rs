//! Runs one step in its own process group and captures its output.
