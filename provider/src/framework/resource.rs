//! What a managed resource implements. `Resource` is the core lifecycle
//! (schema, create, read, update, delete); the optional behaviours (config
//! validation, plan modification, import, state upgrade) are separate traits
//! a resource opts into through the `as_*` accessors.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{Diagnostics, Schema};
use crate::value::{AttributePath, Value};

/// Per-call context.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Cancelled when Terraform calls `StopProvider` (the user pressed
    /// Ctrl-C); long operations stop at their next safe point.
    pub cancel: CancellationToken,
}

/// The result of create, update or import-time reads.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    /// The new state. On failure, whatever was done so far (partial state)
    /// so the next apply resumes instead of starting over; null when
    /// nothing was created.
    pub state: Value,
    /// Provider-private data stored beside the state.
    pub private: Vec<u8>,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

impl ApplyOutcome {
    /// Success with a new state.
    pub fn ok(state: Value) -> Self {
        Self { state, ..Self::default() }
    }
}

/// The result of a refresh.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// The refreshed state; null when the object no longer exists.
    pub state: Value,
    /// Private data to keep.
    pub private: Vec<u8>,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

/// A plan in the making, handed to `ModifyPlan` after the plan rules ran.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// Prior state; null on create.
    pub prior: &'a Value,
    /// The configuration (may contain unknowns).
    pub config: &'a Value,
    /// The planned state so far; the resource fills in computed values.
    pub planned: Value,
    /// Paths that force replacement so far.
    pub requires_replace: Vec<AttributePath>,
    /// Private data from the prior state; the resource may replace it.
    pub private: Vec<u8>,
    /// Diagnostics to return.
    pub diagnostics: Diagnostics,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// The type name, e.g. `cloudinit_config`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Creates the object described by `planned`.
    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value, private: &[u8]) -> ApplyOutcome;

    /// Refreshes `state` from the real world.
    async fn read(&self, ctx: &CallContext, state: &Value, private: &[u8]) -> ReadOutcome;

    /// Changes the object in place from `prior` to `planned`.
    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: &[u8],
    ) -> ApplyOutcome;

    /// Destroys the object.
    async fn delete(&self, ctx: &CallContext, prior: &Value, private: &[u8]) -> Diagnostics;

    /// Config validation, when the resource has rules beyond the schema.
    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        None
    }

    /// Plan modification, when the resource computes values at plan time.
    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        None
    }

    /// Import support.
    fn as_import_state(&self) -> Option<&dyn ImportState> {
        None
    }

    /// State upgrades from older schema versions.
    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        None
    }
}

/// Checks a configuration beyond what the schema says (formats, ranges,
/// combinations). Values may be unknown: check only what is known.
#[async_trait]
pub trait ValidateConfig: Send + Sync {
    /// Returns diagnostics on the attributes at fault.
    async fn validate_config(&self, config: &Value) -> Diagnostics;
}

/// Fills in computed values at plan time (step 5 of the plan pipeline).
#[async_trait]
pub trait ModifyPlan: Send + Sync {
    /// Adjusts `request.planned` and friends.
    async fn modify_plan(&self, ctx: &CallContext, request: &mut PlanRequest<'_>);
}

/// Adopts an existing object by id.
#[async_trait]
pub trait ImportState: Send + Sync {
    /// Returns the state of the object named by `id`.
    async fn import_state(&self, ctx: &CallContext, id: &str) -> ApplyOutcome;
}

/// Upgrades stored state written by an older schema version.
pub trait UpgradeState: Send + Sync {
    /// Turns `raw_json` (stored at `version`) into a current-schema value.
    fn upgrade_state(&self, version: i64, raw_json: &[u8]) -> Result<Value, Diagnostics>;
}
