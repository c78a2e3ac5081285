//! Markdown checklist import (SPEC §3).
