//! Logging in the form go-plugin expects from a plugin: one hclog JSON object
//! per line on stderr.
//!
//! The host (Terraform) reads the plugin's stderr line by line. A line that
//! parses as JSON with `@level`, `@message` and an `@timestamp` it can parse is
//! re-emitted through the host's own logger under the plugin's name, at that
//! level; anything else is printed raw at debug level. stdout is reserved for
//! the handshake line, so nothing here ever writes there.

use std::fmt;
use std::io::Write as _;

use serde_json::{Map, Number, Value};
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Event, Id, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Environment variable that sets the provider's own log level; it wins over `TF_LOG`.
pub const TF_LOG_PROVIDER: &str = "TF_LOG_PROVIDER";
/// Terraform's general log level variable, which the plugin inherits.
pub const TF_LOG: &str = "TF_LOG";

/// Crates of the gRPC/TLS stack whose debug and trace output is all frames and
/// polls: at `TF_LOG=TRACE` they would bury the provider's own lines, so they
/// are capped at INFO.
const NOISY_TARGETS: &[&str] =
    &["h2", "hyper", "hyper_util", "tonic", "tower", "rustls", "tokio_rustls", "mio", "want"];

/// Installs the hclog layer on stderr as the global `tracing` subscriber, with
/// the level taken from `TF_LOG_PROVIDER` or `TF_LOG`.
///
/// Calling it again (or after another subscriber was installed) does nothing,
/// so tests and binaries can both call it.
pub fn init(module_name: &str) {
    let level = level_from_env(std::env::var(TF_LOG_PROVIDER).ok().as_deref(), std::env::var(TF_LOG).ok().as_deref());
    let layer = HclogLayer::new(module_name, std::io::stderr).with_filter(targets_filter(level));
    // An error only means a global subscriber already exists; keep that one.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The filter `init` uses: `level` everywhere, but never more verbose than INFO
/// for the transport crates.
pub fn targets_filter(level: LevelFilter) -> Targets {
    let capped = std::cmp::min(level, LevelFilter::INFO);
    NOISY_TARGETS
        .iter()
        .fold(Targets::new().with_default(level), |targets, target| targets.with_target(*target, capped))
}

/// Picks the level from the values of `TF_LOG_PROVIDER` and `TF_LOG`.
///
/// A non-empty `TF_LOG_PROVIDER` wins. `TRACE`, `DEBUG`, `INFO`, `WARN` and
/// `ERROR` (any case) mean what they say; `JSON` is Terraform's "trace, as
/// JSON" and maps to TRACE. `OFF` or nothing set gives WARN, so problems still
/// reach the host, which drops them unless its own logging is on. Any other
/// value is TRACE, as Terraform itself treats an unknown `TF_LOG`.
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> LevelFilter {
    let chosen = [tf_log_provider, tf_log].into_iter().flatten().map(str::trim).find(|value| !value.is_empty());
    let Some(value) = chosen else {
        return LevelFilter::WARN;
    };
    match value.to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::WARN,
        _ => LevelFilter::TRACE,
    }
}

/// hclog's level names.
pub fn hclog_level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Formats a timestamp the way go-plugin parses it
/// (`2006-01-02T15:04:05.000000Z07:00`): UTC, exactly six fractional digits.
/// Any other shape makes the host print the whole line raw.
pub fn hclog_timestamp(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.microsecond()
    )
}

/// A `tracing_subscriber` layer that writes each event as one hclog JSON line.
///
/// Keys: `@level`, `@message`, `@module`, `@timestamp`, then the fields of the
/// event's spans from the outermost in, then the event's own fields (inner
/// values win on a clash).
pub struct HclogLayer<W> {
    module: String,
    make_writer: W,
}

impl<W> fmt::Debug for HclogLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HclogLayer").field("module", &self.module).finish_non_exhaustive()
    }
}

impl<W> HclogLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// A layer writing lines with `@module` set to `module` through `make_writer`.
    pub fn new(module: &str, make_writer: W) -> Self {
        Self { module: module.to_owned(), make_writer }
    }

    /// Builds the JSON line (with its newline) for one event.
    fn format_event<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> String
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut object = Map::new();
        object.insert("@level".to_owned(), Value::from(hclog_level(event.metadata().level())));
        // Placeholder keeps key order; filled after visiting the fields.
        object.insert("@message".to_owned(), Value::from(""));
        object.insert("@module".to_owned(), Value::from(self.module.as_str()));
        object.insert("@timestamp".to_owned(), Value::from(hclog_timestamp(OffsetDateTime::now_utc())));

        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (key, value) in &fields.0 {
                        insert_field(&mut object, key, value.clone());
                    }
                }
            }
        }

        let mut message = String::new();
        let mut visitor = FieldVisitor { fields: &mut object, message: Some(&mut message) };
        event.record(&mut visitor);
        // go-plugin type-asserts `@message` to a string, so it must always be one.
        object.insert("@message".to_owned(), Value::from(message));

        let mut line = Value::Object(object).to_string();
        line.push('\n');
        line
    }
}

/// Span fields, kept in the span's extensions until the span closes.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut FieldVisitor { fields: &mut fields, message: None });
        span.extensions_mut().replace(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(fields) => values.record(&mut FieldVisitor { fields: &mut fields.0, message: None }),
            None => {
                let mut fields = Map::new();
                values.record(&mut FieldVisitor { fields: &mut fields, message: None });
                extensions.insert(SpanFields(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = self.format_event(event, &ctx);
        let mut writer = self.make_writer.make_writer_for(event.metadata());
        // One write of the whole line so lines from different threads do not
        // interleave; a failed write to stderr has nowhere to be reported.
        let _ = writer.write_all(line.as_bytes());
        let _ = writer.flush();
    }
}

/// Keys that hclog reserves: a field with one of these names is renamed so it
/// cannot overwrite (or, for `@message`, break the type of) the real value.
fn insert_field(object: &mut Map<String, Value>, key: &str, value: Value) {
    if matches!(key, "@level" | "@message" | "@module" | "@timestamp") {
        object.insert(format!("field{key}"), value);
    } else {
        object.insert(key.to_owned(), value);
    }
}

/// Turns `tracing` field values into JSON values; the event's `message` field
/// becomes `@message` instead of a key.
struct FieldVisitor<'a> {
    fields: &'a mut Map<String, Value>,
    message: Option<&'a mut String>,
}

impl FieldVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        match self.message.as_deref_mut() {
            Some(message) if field.name() == "message" => {
                *message = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
            }
            _ => insert_field(self.fields, field.name(), value),
        }
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinities; those go as text.
        let json = Number::from_f64(value).map_or_else(|| Value::from(value.to_string()), Value::Number);
        self.put(field, json);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        let json = i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from);
        self.put(field, json);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let json = u64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from);
        self.put(field, json);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects everything written, for inspecting the lines.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn lines(&self) -> Vec<Value> {
            let bytes = self.0.lock().expect("buffer lock").clone();
            let text = String::from_utf8(bytes).expect("utf-8 output");
            assert!(text.ends_with('\n'), "every line ends with a newline: {text:?}");
            text.lines().map(|line| serde_json::from_str(line).expect("each line is JSON")).collect()
        }
    }

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(level: LevelFilter, body: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let layer = HclogLayer::new("provider.test-plugin", buffer.clone()).with_filter(targets_filter(level));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, body);
        buffer.lines()
    }

    fn assert_hclog_timestamp(value: &Value) {
        let text = value.as_str().expect("timestamp is a string");
        // 2026-11-23T00:38:21.123456Z
        assert_eq!(text.len(), 27, "{text}");
        assert!(text.ends_with('Z'), "{text}");
        let (_, fraction) = text.split_once('.').expect("fraction present");
        let digits = fraction.trim_end_matches('Z');
        assert_eq!(digits.len(), 6, "{text}");
        assert!(digits.chars().all(|c| c.is_ascii_digit()), "{text}");
    }

    #[test]
    fn timestamp_always_has_six_fraction_digits() {
        let whole = OffsetDateTime::from_unix_timestamp(1_795_394_301).expect("valid time");
        assert_eq!(hclog_timestamp(whole), "2026-11-23T00:38:21.000000Z");
        let fine = whole + time::Duration::nanoseconds(123_456_789);
        assert_eq!(hclog_timestamp(fine), "2026-11-23T00:38:21.123456Z");
        let offset = fine.to_offset(time::UtcOffset::from_hms(2, 0, 0).expect("offset"));
        assert_eq!(hclog_timestamp(offset), "2026-11-23T00:38:21.123456Z");
        assert_hclog_timestamp(&Value::from(hclog_timestamp(OffsetDateTime::now_utc())));
    }

    #[test]
    fn event_becomes_one_hclog_json_line() {
        let lines = capture(LevelFilter::TRACE, || {
            let outer = tracing::info_span!("rpc", tf_rpc = "PlanResourceChange", attempt = 1_u64);
            let _outer = outer.enter();
            let inner = tracing::debug_span!("resource", tf_resource_type = tracing::field::Empty);
            inner.record("tf_resource_type", "cloudinit_config");
            let _inner = inner.enter();
            tracing::warn!(count = 3_i64, ok = true, ratio = 0.5_f64, attempt = 2_u64, "planned {} parts", 3);
        });
        assert_eq!(lines.len(), 1);
        let line = lines[0].as_object().expect("object");
        assert_eq!(line["@level"], "warn");
        assert_eq!(line["@message"], "planned 3 parts");
        assert_eq!(line["@module"], "provider.test-plugin");
        assert_hclog_timestamp(&line["@timestamp"]);
        assert_eq!(line["tf_rpc"], "PlanResourceChange");
        assert_eq!(line["tf_resource_type"], "cloudinit_config");
        assert_eq!(line["count"], 3);
        assert_eq!(line["ok"], true);
        assert_eq!(line["ratio"], 0.5);
        // The event's own value wins over the span's.
        assert_eq!(line["attempt"], 2);
        let keys: Vec<&str> = line.keys().map(String::as_str).collect();
        assert_eq!(&keys[..4], ["@level", "@message", "@module", "@timestamp"]);
    }

    #[test]
    fn message_is_a_string_even_without_one_and_reserved_keys_are_kept_apart() {
        let lines = capture(LevelFilter::TRACE, || {
            tracing::error!(detail = ?vec![1, 2]);
            tracing::info!({ "@message" = 5_i64 }, "real");
        });
        assert_eq!(lines[0]["@level"], "error");
        assert_eq!(lines[0]["@message"], "");
        assert_eq!(lines[0]["detail"], "[1, 2]");
        assert_eq!(lines[1]["@message"], "real");
        assert_eq!(lines[1]["field@message"], 5);
    }

    #[test]
    fn levels_are_filtered_and_transport_noise_is_capped() {
        let lines = capture(LevelFilter::WARN, || {
            tracing::info!("dropped");
            tracing::warn!("kept");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["@message"], "kept");

        let lines = capture(LevelFilter::TRACE, || {
            tracing::debug!(target: "h2::codec", "frame");
            tracing::info!(target: "h2::codec", "connection info");
            tracing::trace!(target: "homelab_provider::x", "own trace");
        });
        let messages: Vec<&Value> = lines.iter().map(|l| &l["@message"]).collect();
        assert_eq!(messages, ["connection info", "own trace"]);
    }

    #[test]
    fn level_comes_from_tf_log_provider_then_tf_log() {
        assert_eq!(level_from_env(None, None), LevelFilter::WARN);
        assert_eq!(level_from_env(Some("off"), None), LevelFilter::WARN);
        assert_eq!(level_from_env(None, Some("OFF")), LevelFilter::WARN);
        assert_eq!(level_from_env(None, Some("json")), LevelFilter::TRACE);
        assert_eq!(level_from_env(None, Some("Debug")), LevelFilter::DEBUG);
        assert_eq!(level_from_env(Some("info"), Some("trace")), LevelFilter::INFO);
        assert_eq!(level_from_env(Some(""), Some("error")), LevelFilter::ERROR);
        assert_eq!(level_from_env(Some("warn"), None), LevelFilter::WARN);
        assert_eq!(level_from_env(None, Some("TRACE")), LevelFilter::TRACE);
        assert_eq!(level_from_env(None, Some("1")), LevelFilter::TRACE);
    }
}
