//! The tracing layer: decides from the cached levels which events and spans are wanted
//! (tracing asks once per call site and caches the answer, so an unwanted event costs a
//! load and a branch), and turns the wanted ones into [`Record`]s.

use std::time::{Instant, SystemTime};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::levels::{self, Logger};
use super::records::{self, Record, Value};

/// What the layer knows of a span (see `dqlite_client`'s `request` and `discovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanKind {
    /// One statement: DEBUG record with its duration on `dqlitedbapi.sql`, WARNING on
    /// `dqlitedbapi.slow` when slower than the threshold.
    Request,
    /// Finding the leader: DEBUG record with its duration on `dqlitedbapi.discovery`.
    Discovery,
}

impl SpanKind {
    fn of(meta: &Metadata<'_>) -> Option<SpanKind> {
        if !meta.target().starts_with("dqlite_client") {
            return None;
        }
        match meta.name() {
            "request" => Some(SpanKind::Request),
            "discovery" => Some(SpanKind::Discovery),
            _ => None,
        }
    }

    fn wanted(self) -> bool {
        match self {
            SpanKind::Request => {
                levels::enabled(Logger::Sql, Level::DEBUG)
                    || (levels::slow_threshold().is_some()
                        && levels::enabled(Logger::Slow, Level::WARN))
            }
            SpanKind::Discovery => levels::enabled(Logger::Discovery, Level::DEBUG),
        }
    }
}

/// A span's start and fields, kept in its extensions.
struct Timing {
    kind: SpanKind,
    start: Instant,
    fields: Vec<(&'static str, Value)>,
}

/// Hands the client's events and spans to Python's `logging` (through the queue).
pub struct PythonLayer;

fn wanted(meta: &Metadata<'_>) -> bool {
    if meta.is_span() {
        SpanKind::of(meta).is_some_and(SpanKind::wanted)
    } else {
        levels::enabled(Logger::of_target(meta.target()), *meta.level())
    }
}

impl<S> tracing_subscriber::Layer<S> for PythonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if wanted(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        wanted(meta)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(levels::most_verbose().map_or(
            tracing::level_filters::LevelFilter::OFF,
            tracing::level_filters::LevelFilter::from_level,
        ))
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        records::push(Record {
            logger: Logger::of_target(meta.target()),
            level: *meta.level(),
            message: fields.text(None),
            fields: fields.values,
            time: SystemTime::now(),
            file: meta.file(),
            line: meta.line(),
        });
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(kind) = SpanKind::of(attrs.metadata()) else {
            return;
        };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Timing {
                kind,
                start: Instant::now(),
                fields: fields.values,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(timing) = span.extensions_mut().get_mut::<Timing>()
        {
            let mut fields = Fields {
                values: std::mem::take(&mut timing.fields),
                message: None,
            };
            values.record(&mut fields);
            timing.fields = fields.values;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(timing) = span.extensions_mut().remove::<Timing>() else {
            return;
        };
        let elapsed = timing.start.elapsed();
        let slow = levels::slow_threshold().is_some_and(|t| elapsed >= t);
        let (logger, level, what) = match timing.kind {
            SpanKind::Request if slow => (Logger::Slow, Level::WARN, "slow statement"),
            SpanKind::Request => (Logger::Sql, Level::DEBUG, "statement done"),
            SpanKind::Discovery => (Logger::Discovery, Level::DEBUG, "leader discovery done"),
        };
        if !levels::enabled(logger, level) {
            return;
        }
        let mut fields = Fields {
            values: timing.fields,
            message: None,
        };
        fields
            .values
            .push(("duration", Value::Float(elapsed.as_secs_f64())));
        let millis = elapsed.as_secs_f64() * 1000.0;
        let meta = span.metadata();
        records::push(Record {
            logger,
            level,
            message: fields.text(Some(format!("{what} in {millis:.3} ms"))),
            fields: fields.values,
            time: SystemTime::now(),
            file: meta.file(),
            line: meta.line(),
        });
    }
}

/// The fields of an event or span, as recorded.
#[derive(Default)]
struct Fields {
    values: Vec<(&'static str, Value)>,
    message: Option<String>,
}

impl Fields {
    /// The message (or `message`), then each field as `name=value`, as tracing's own
    /// formatter writes them.
    fn text(&self, message: Option<String>) -> String {
        let mut text = message.or_else(|| self.message.clone()).unwrap_or_default();
        for (name, value) in &self.values {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(name);
            text.push('=');
            text.push_str(&value.to_string());
        }
        text
    }

    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else if let Some(slot) = self.values.iter_mut().find(|(n, _)| *n == field.name()) {
            slot.1 = value;
        } else {
            self.values.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::UInt(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::Float(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Text(value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::Text(format!("{value:?}")));
    }
}
