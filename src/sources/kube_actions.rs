//! Built-in actions through the Kubernetes API: set_image, restart, scale, undo, pause, resume.

use super::kube_client::Kube;
use crate::config::checklist::Action;
use crate::core::msg::ActionRecord;

/// Applies an action and says what it changed.
pub async fn apply(_kube: &Kube, action: &Action) -> Result<ActionRecord, String> {
    Err(format!(
        "{}: built-in actions are not implemented yet",
        action.describe()
    ))
}
