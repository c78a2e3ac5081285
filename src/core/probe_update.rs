//! How probe results change the model: health, rollback advice, probe waits (called by `update`).

use super::effect::Effect;
use super::model::Model;
use super::probes::Sample;

pub(super) fn on_sample(m: &mut Model, sample: Sample, fx: &mut Vec<Effect>) {
    let _ = (sample, fx);
    m.dirty = true;
}
