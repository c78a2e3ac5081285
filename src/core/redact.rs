//! Secret redaction for journal, logs and reports.
