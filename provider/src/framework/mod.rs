//! The provider framework: schemas, diagnostics, plan rules, and the traits
//! a provider and its resources implement. Nothing here knows about gRPC;
//! `crate::protocol` adapts these to the wire.

pub mod diagnostics;
pub mod plan;
pub mod provider;
pub mod resource;
pub mod schema;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use plan::PlanRule;
pub use provider::Provider;
pub use resource::{
    ApplyOutcome, CallContext, ImportState, ModifyPlan, PlanRequest, ReadOutcome, Resource, UpgradeState,
    ValidateConfig,
};
pub use schema::{Attribute, Block, BlockNesting, Nesting, Presence, Schema};
