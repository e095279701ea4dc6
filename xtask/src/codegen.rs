//! `cargo xtask codegen`: generated code committed to the tree.
//!
//! Today that is one file, `crates/warren-amqp/src/generated.rs`: the AMQP 0-9-1 method structs,
//! the `Method` enum, `BasicProperties`, the frame constants and `ReplyCode`, plus (under
//! `#[cfg(test)]`) a proptest strategy per method. It is generated from RabbitMQ's machine-readable
//! spec at `<root>/../shared/specs/amqp-rabbitmq-0.9.1.json`, which CI finds beside the clone.
//!
//! The output is laid out by this generator (the module is `#[rustfmt::skip]`), so the result
//! does not depend on which rustfmt is installed.

use crate::util::root;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Where the generated AMQP module lives, relative to the workspace root.
const AMQP_OUT: &str = "crates/warren-amqp/src/generated.rs";
/// Where the spec lives, relative to the workspace root.
const AMQP_SPEC: &str = "../shared/specs/amqp-rabbitmq-0.9.1.json";

/// Regenerates (or with `check`, verifies) the AMQP method types.
pub fn amqp(check: bool) -> Result<(), String> {
    let root = root();
    let spec_path = root.join(AMQP_SPEC);
    let spec_text = std::fs::read_to_string(&spec_path).map_err(|e| {
        format!(
            "cannot read the AMQP spec at {}: {e} (the workspace expects ../shared/specs beside it)",
            spec_path.display()
        )
    })?;
    let spec: Value = serde_json::from_str(&spec_text)
        .map_err(|e| format!("{}: invalid JSON: {e}", spec_path.display()))?;
    let generated = generate_amqp(&spec)?;
    let out: PathBuf = root.join(AMQP_OUT);
    let current = std::fs::read_to_string(&out).unwrap_or_default();
    if check {
        if current != generated {
            return Err(format!(
                "{AMQP_OUT} is stale: run `cargo xtask codegen` and commit"
            ));
        }
        eprintln!("codegen: {AMQP_OUT} is current");
    } else if current != generated {
        std::fs::write(&out, generated).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("codegen: wrote {AMQP_OUT}");
    } else {
        eprintln!("codegen: {AMQP_OUT} unchanged");
    }
    Ok(())
}

/// One method argument or property, resolved to its wire type.
struct Field {
    /// Spec name, e.g. `routing-key`.
    spec_name: String,
    /// Rust field name, e.g. `routing_key`.
    name: String,
    /// Wire type: octet, short, long, longlong, bit, shortstr, longstr, table, timestamp.
    ty: String,
    /// Default from the spec, if any.
    default: Option<Value>,
}

struct MethodSpec {
    class_name: String,
    class_id: u64,
    name: String,
    id: u64,
    rust: String,
    fields: Vec<Field>,
    content: bool,
    synchronous: bool,
}

fn camel(s: &str) -> String {
    s.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn snake(s: &str) -> String {
    match s {
        "type" => "kind".to_string(),
        other => other.replace('-', "_"),
    }
}

fn rust_type(ty: &str) -> Result<&'static str, String> {
    Ok(match ty {
        "octet" => "u8",
        "short" => "u16",
        "long" => "u32",
        "longlong" | "timestamp" => "u64",
        "bit" => "bool",
        "shortstr" => "ShortStr",
        "longstr" => "Bytes",
        "table" => "FieldTable",
        other => return Err(format!("spec uses unknown type `{other}`")),
    })
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("spec: missing string `{key}` in {v}"))
}

fn u64_of(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("spec: missing number `{key}` in {v}"))
}

fn arr_of<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("spec: missing array `{key}`"))
}

fn resolve_field(spec: &Value, arg: &Value) -> Result<Field, String> {
    let spec_name = str_of(arg, "name")?.to_string();
    let ty = match arg.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => {
            let domain = str_of(arg, "domain")?;
            arr_of(spec, "domains")?
                .iter()
                .find_map(|d| {
                    let pair = d.as_array()?;
                    (pair.first()?.as_str()? == domain)
                        .then(|| pair.get(1)?.as_str().map(str::to_string))
                        .flatten()
                })
                .ok_or_else(|| format!("spec: unknown domain `{domain}`"))?
        }
    };
    rust_type(&ty)?;
    Ok(Field {
        name: snake(&spec_name),
        spec_name,
        ty,
        default: arg.get("default-value").cloned(),
    })
}

fn methods(spec: &Value) -> Result<Vec<MethodSpec>, String> {
    let mut out = Vec::new();
    for class in arr_of(spec, "classes")? {
        let class_name = str_of(class, "name")?.to_string();
        let class_id = u64_of(class, "id")?;
        for m in arr_of(class, "methods")? {
            let name = str_of(m, "name")?.to_string();
            let fields = arr_of(m, "arguments")?
                .iter()
                .map(|a| resolve_field(spec, a))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(MethodSpec {
                rust: camel(&class_name) + &camel(&name),
                class_name: class_name.clone(),
                class_id,
                id: u64_of(m, "id")?,
                name,
                fields,
                content: m.get("content").and_then(Value::as_bool).unwrap_or(false),
                synchronous: m
                    .get("synchronous")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
    }
    Ok(out)
}

/// A Rust expression for a field's spec default (or the type's zero value).
fn default_expr(f: &Field) -> String {
    match (&f.default, f.ty.as_str()) {
        (Some(Value::Number(n)), _) => n.to_string(),
        (Some(Value::Bool(b)), _) => b.to_string(),
        (Some(Value::String(s)), "shortstr") if !s.is_empty() => {
            format!("ShortStr::from_static({s:?})")
        }
        (Some(Value::String(s)), "longstr") if !s.is_empty() => {
            format!("Bytes::from_static(b{s:?})")
        }
        (_, "shortstr") => "ShortStr::EMPTY".to_string(),
        (_, "longstr") => "Bytes::new()".to_string(),
        (_, "table") => "FieldTable::new()".to_string(),
        (_, "bit") => "false".to_string(),
        _ => "0".to_string(),
    }
}

fn default_doc(f: &Field) -> String {
    match &f.default {
        Some(Value::String(s)) => format!(" Spec default: `{s:?}`."),
        Some(Value::Object(o)) if o.is_empty() => " Spec default: empty.".to_string(),
        Some(v) => format!(" Spec default: `{v}`."),
        None => String::new(),
    }
}

fn read_expr(f: &Field) -> String {
    let n = &f.spec_name;
    match f.ty.as_str() {
        "octet" => format!("r.u8({n:?})?"),
        "short" => format!("r.u16({n:?})?"),
        "long" => format!("r.u32({n:?})?"),
        "longlong" | "timestamp" => format!("r.u64({n:?})?"),
        "shortstr" => format!("r.short_str({n:?})?"),
        "longstr" => format!("r.long_str({n:?})?"),
        "table" => format!("r.table({n:?})?"),
        other => format!("compile_error!(\"no reader for {other}\")"),
    }
}

fn write_stmt(f: &Field, value: &str) -> String {
    match f.ty.as_str() {
        "octet" => format!("buf.put_u8({value});"),
        "short" => format!("buf.put_u16({value});"),
        "long" => format!("buf.put_u32({value});"),
        "longlong" | "timestamp" => format!("buf.put_u64({value});"),
        "shortstr" => format!("put_short_str(buf, &{value});"),
        "longstr" => format!("put_long_str(buf, &{value}, {:?})?;", f.spec_name),
        "table" => format!("put_table(buf, &{value})?;"),
        other => format!("compile_error!(\"no writer for {other}\");"),
    }
}

fn strategy_expr(ty: &str) -> &'static str {
    match ty {
        "octet" => "any::<u8>()",
        "short" => "any::<u16>()",
        "long" => "any::<u32>()",
        "longlong" | "timestamp" => "any::<u64>()",
        "bit" => "any::<bool>()",
        "shortstr" => "short_str()",
        "longstr" => "long_str()",
        "table" => "field_table()",
        _ => "compile_error!(\"no strategy\")",
    }
}

fn generate_amqp(spec: &Value) -> Result<String, String> {
    let mut o = String::new();
    let w = &mut o;
    let methods = methods(spec)?;
    let version = format!(
        "{}-{}-{}",
        u64_of(spec, "major-version")?,
        u64_of(spec, "minor-version")?,
        u64_of(spec, "revision")?
    );

    // ---------------------------------------------------------------- header
    writeln!(
        w,
        "//! AMQP {version} method types, basic properties and constants."
    )
    .unwrap();
    writeln!(w, "//!").unwrap();
    writeln!(
        w,
        "//! @generated by `cargo xtask codegen` (xtask/src/codegen.rs) from"
    )
    .unwrap();
    writeln!(
        w,
        "//! `{AMQP_SPEC}` (RabbitMQ's spec, with its extensions)."
    )
    .unwrap();
    writeln!(
        w,
        "//! Do not edit by hand: change the generator and run `cargo xtask codegen`."
    )
    .unwrap();
    writeln!(w).unwrap();
    writeln!(w, "// Every struct spells out its spec defaults, even where they equal `#[derive(Default)]`'s.").unwrap();
    writeln!(w, "#![allow(clippy::derivable_impls)]").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "use crate::codec::{{put_long_str, put_short_str, put_table, BitReader, BitWriter, Reader}};").unwrap();
    writeln!(w, "use crate::{{Error, FieldTable, ShortStr}};").unwrap();
    writeln!(w, "use bytes::{{BufMut, Bytes, BytesMut}};").unwrap();
    writeln!(w).unwrap();

    // ---------------------------------------------------------------- constants
    let mut reply_codes = Vec::new();
    for c in arr_of(spec, "constants")? {
        let name = str_of(c, "name")?;
        let value = u64_of(c, "value")?;
        // FRAME-ERROR is a reply code (it has an error class); the other FRAME-* are frame facts.
        let frame_fact = c.get("class").is_none();
        if let Some(rest) = name.strip_prefix("FRAME-").filter(|_| frame_fact) {
            let (ty, what) = match rest {
                "MIN-SIZE" => (
                    "u32",
                    "The smallest `frame_max` a peer may negotiate.".to_string(),
                ),
                "END" => ("u8", "The octet that ends every frame.".to_string()),
                kind => (
                    "u8",
                    format!("Frame type octet of a {} frame.", kind.to_lowercase()),
                ),
            };
            writeln!(w, "/// {what}").unwrap();
            writeln!(w, "pub const {}: {ty} = {value};", name.replace('-', "_")).unwrap();
        } else {
            let class = c.get("class").and_then(Value::as_str).unwrap_or("success");
            reply_codes.push((name.to_string(), value, class.to_string()));
        }
    }
    writeln!(w).unwrap();
    writeln!(
        w,
        "/// The reply codes of `connection.close` and `channel.close`."
    )
    .unwrap();
    writeln!(w, "///").unwrap();
    writeln!(
        w,
        "/// Soft errors close the channel, hard errors the connection."
    )
    .unwrap();
    writeln!(w, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]").unwrap();
    writeln!(w, "#[repr(u16)]").unwrap();
    writeln!(w, "pub enum ReplyCode {{").unwrap();
    for (name, value, class) in &reply_codes {
        let variant = camel(&name.to_lowercase()).replace("Reply", "");
        writeln!(w, "    /// {value} {} ({class}).", name.replace('-', "_")).unwrap();
        writeln!(w, "    {variant} = {value},").unwrap();
    }
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "impl ReplyCode {{").unwrap();
    writeln!(w, "    /// The numeric code.").unwrap();
    writeln!(w, "    pub const fn code(self) -> u16 {{").unwrap();
    writeln!(w, "        self as u16").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "    /// The code for a number, if the spec defines it.").unwrap();
    writeln!(
        w,
        "    pub const fn from_code(code: u16) -> Option<Self> {{"
    )
    .unwrap();
    writeln!(w, "        match code {{").unwrap();
    for (name, value, _) in &reply_codes {
        let variant = camel(&name.to_lowercase()).replace("Reply", "");
        writeln!(w, "            {value} => Some(ReplyCode::{variant}),").unwrap();
    }
    writeln!(w, "            _ => None,").unwrap();
    writeln!(w, "        }}").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// The spec's name, e.g. `\"NOT_FOUND\"` (RabbitMQ starts reply texts with it)."
    )
    .unwrap();
    writeln!(w, "    pub const fn name(self) -> &'static str {{").unwrap();
    writeln!(w, "        match self {{").unwrap();
    for (name, _, _) in &reply_codes {
        let variant = camel(&name.to_lowercase()).replace("Reply", "");
        let text = name.replace('-', "_").replace("REPLY_", "");
        writeln!(w, "            ReplyCode::{variant} => {text:?},").unwrap();
    }
    writeln!(w, "        }}").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// True for hard errors, which close the whole connection."
    )
    .unwrap();
    writeln!(w, "    pub const fn is_hard_error(self) -> bool {{").unwrap();
    let hard: Vec<String> = reply_codes
        .iter()
        .filter(|(_, _, c)| c == "hard-error")
        .map(|(n, _, _)| format!("ReplyCode::{}", camel(&n.to_lowercase())))
        .collect();
    writeln!(w, "        matches!(").unwrap();
    writeln!(w, "            self,").unwrap();
    writeln!(w, "            {}", hard.join("\n                | ")).unwrap();
    writeln!(w, "        )").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();

    // ---------------------------------------------------------------- class ids
    writeln!(w, "/// Class ids.").unwrap();
    writeln!(w, "pub mod class {{").unwrap();
    for class in arr_of(spec, "classes")? {
        let name = str_of(class, "name")?;
        writeln!(w, "    /// The `{name}` class.").unwrap();
        writeln!(
            w,
            "    pub const {}: u16 = {};",
            name.to_uppercase(),
            u64_of(class, "id")?
        )
        .unwrap();
    }
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();

    // ---------------------------------------------------------------- method structs
    for m in &methods {
        let full = format!("{}.{}", m.class_name, m.name);
        writeln!(w, "/// `{full}` (class {}, method {}).", m.class_id, m.id).unwrap();
        if m.content {
            writeln!(w, "///").unwrap();
            writeln!(
                w,
                "/// Carries content: a content header and body frames follow it."
            )
            .unwrap();
        }
        if m.fields.is_empty() {
            writeln!(w, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]").unwrap();
            writeln!(w, "pub struct {};", m.rust).unwrap();
        } else {
            let eq = if m.fields.iter().any(|f| f.ty == "table") {
                ""
            } else {
                ", Eq"
            };
            writeln!(w, "#[derive(Debug, Clone, PartialEq{eq})]").unwrap();
            writeln!(w, "pub struct {} {{", m.rust).unwrap();
            for f in &m.fields {
                writeln!(w, "    /// `{}` ({}).{}", f.spec_name, f.ty, default_doc(f)).unwrap();
                writeln!(w, "    pub {}: {},", f.name, rust_type(&f.ty)?).unwrap();
            }
            writeln!(w, "}}").unwrap();
            writeln!(w).unwrap();
            writeln!(w, "impl Default for {} {{", m.rust).unwrap();
            writeln!(w, "    fn default() -> Self {{").unwrap();
            writeln!(w, "        {} {{", m.rust).unwrap();
            for f in &m.fields {
                writeln!(w, "            {}: {},", f.name, default_expr(f)).unwrap();
            }
            writeln!(w, "        }}").unwrap();
            writeln!(w, "    }}").unwrap();
            writeln!(w, "}}").unwrap();
        }
        writeln!(w).unwrap();
        writeln!(w, "impl {} {{", m.rust).unwrap();
        writeln!(w, "    /// Class id.").unwrap();
        writeln!(w, "    pub const CLASS_ID: u16 = {};", m.class_id).unwrap();
        writeln!(w, "    /// Method id.").unwrap();
        writeln!(w, "    pub const METHOD_ID: u16 = {};", m.id).unwrap();
        writeln!(w, "    /// Spec name.").unwrap();
        writeln!(w, "    pub const NAME: &'static str = {full:?};").unwrap();
        writeln!(w).unwrap();
        // decode
        if m.fields.is_empty() {
            writeln!(
                w,
                "    pub(crate) fn decode(_r: &mut Reader) -> Result<Self, Error> {{"
            )
            .unwrap();
            writeln!(w, "        Ok({})", m.rust).unwrap();
        } else {
            writeln!(
                w,
                "    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {{"
            )
            .unwrap();
            let mut in_bits = false;
            for f in &m.fields {
                if f.ty == "bit" {
                    if !in_bits {
                        writeln!(w, "        let mut bits = BitReader::default();").unwrap();
                        in_bits = true;
                    }
                    writeln!(
                        w,
                        "        let {} = bits.next(r, {:?})?;",
                        f.name, f.spec_name
                    )
                    .unwrap();
                } else {
                    in_bits = false;
                    writeln!(w, "        let {} = {};", f.name, read_expr(f)).unwrap();
                }
            }
            let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
            writeln!(w, "        Ok({} {{ {} }})", m.rust, names.join(", ")).unwrap();
        }
        writeln!(w, "    }}").unwrap();
        writeln!(w).unwrap();
        // encode
        if m.fields.is_empty() {
            writeln!(
                w,
                "    pub(crate) fn encode(&self, _buf: &mut BytesMut) -> Result<(), Error> {{"
            )
            .unwrap();
        } else {
            writeln!(
                w,
                "    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), Error> {{"
            )
            .unwrap();
            let mut in_bits = false;
            for f in &m.fields {
                if f.ty == "bit" {
                    if !in_bits {
                        writeln!(w, "        let mut bits = BitWriter::default();").unwrap();
                        in_bits = true;
                    }
                    writeln!(w, "        bits.push(buf, self.{});", f.name).unwrap();
                } else {
                    if in_bits {
                        writeln!(w, "        bits.flush(buf);").unwrap();
                        in_bits = false;
                    }
                    writeln!(w, "        {}", write_stmt(f, &format!("self.{}", f.name))).unwrap();
                }
            }
            if in_bits {
                writeln!(w, "        bits.flush(buf);").unwrap();
            }
        }
        writeln!(w, "        Ok(())").unwrap();
        writeln!(w, "    }}").unwrap();
        writeln!(w, "}}").unwrap();
        writeln!(w).unwrap();
        writeln!(w, "impl From<{0}> for Method {{", m.rust).unwrap();
        writeln!(w, "    fn from(m: {}) -> Method {{", m.rust).unwrap();
        writeln!(w, "        Method::{}(m)", m.rust).unwrap();
        writeln!(w, "    }}").unwrap();
        writeln!(w, "}}").unwrap();
        writeln!(w).unwrap();
    }

    // ---------------------------------------------------------------- Method enum
    writeln!(
        w,
        "/// Every method of AMQP {version}, including RabbitMQ's extensions."
    )
    .unwrap();
    writeln!(w, "#[derive(Debug, Clone, PartialEq)]").unwrap();
    writeln!(w, "pub enum Method {{").unwrap();
    for m in &methods {
        writeln!(w, "    /// `{}.{}`.", m.class_name, m.name).unwrap();
        writeln!(w, "    {0}({0}),", m.rust).unwrap();
    }
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "impl Method {{").unwrap();
    let per_method = |w: &mut String, doc: &str, sig: &str, arm: &dyn Fn(&MethodSpec) -> String| {
        writeln!(w, "    /// {doc}").unwrap();
        writeln!(w, "    pub fn {sig} {{").unwrap();
        writeln!(w, "        match self {{").unwrap();
        for m in &methods {
            writeln!(w, "            Method::{}(_) => {},", m.rust, arm(m)).unwrap();
        }
        writeln!(w, "        }}").unwrap();
        writeln!(w, "    }}").unwrap();
        writeln!(w).unwrap();
    };
    per_method(w, "Class id.", "class_id(&self) -> u16", &|m| {
        m.class_id.to_string()
    });
    per_method(
        w,
        "Method id within the class.",
        "method_id(&self) -> u16",
        &|m| m.id.to_string(),
    );
    per_method(
        w,
        "Spec name, e.g. `\"basic.publish\"`.",
        "name(&self) -> &'static str",
        &|m| format!("{:?}", format!("{}.{}", m.class_name, m.name)),
    );
    per_method(
        w,
        "True for methods followed by a content header and body frames.",
        "has_content(&self) -> bool",
        &|m| m.content.to_string(),
    );
    per_method(
        w,
        "True for requests the spec marks synchronous (the peer answers with a `-ok` method).",
        "is_synchronous(&self) -> bool",
        &|m| m.synchronous.to_string(),
    );
    writeln!(
        w,
        "    /// Decodes a method frame payload: class id, method id, arguments. The payload must"
    )
    .unwrap();
    writeln!(w, "    /// hold exactly one method.").unwrap();
    writeln!(
        w,
        "    pub fn decode(payload: Bytes) -> Result<Method, Error> {{"
    )
    .unwrap();
    writeln!(
        w,
        "        let mut r = Reader::new(payload, \"method frame\");"
    )
    .unwrap();
    writeln!(w, "        let class_id = r.u16(\"class-id\")?;").unwrap();
    writeln!(w, "        let method_id = r.u16(\"method-id\")?;").unwrap();
    writeln!(w, "        let decoded = match (class_id, method_id) {{").unwrap();
    for m in &methods {
        writeln!(w, "            ({}, {}) => {{", m.class_id, m.id).unwrap();
        writeln!(w, "                r.set_context({}::NAME);", m.rust).unwrap();
        writeln!(
            w,
            "                {0}::decode(&mut r).map(Method::{0})",
            m.rust
        )
        .unwrap();
        writeln!(w, "            }}").unwrap();
    }
    writeln!(
        w,
        "            _ => return Err(Error::UnknownMethod {{ class_id, method_id }}),"
    )
    .unwrap();
    writeln!(w, "        }};").unwrap();
    writeln!(w, "        decoded").unwrap();
    writeln!(w, "            .and_then(|m| r.finish().map(|()| m))").unwrap();
    writeln!(
        w,
        "            .map_err(|e| e.in_method(class_id, method_id))"
    )
    .unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// Appends the method frame payload (class id, method id, arguments) to `buf`."
    )
    .unwrap();
    writeln!(
        w,
        "    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), Error> {{"
    )
    .unwrap();
    writeln!(w, "        buf.put_u16(self.class_id());").unwrap();
    writeln!(w, "        buf.put_u16(self.method_id());").unwrap();
    writeln!(w, "        match self {{").unwrap();
    for m in &methods {
        writeln!(w, "            Method::{}(m) => m.encode(buf),", m.rust).unwrap();
    }
    writeln!(w, "        }}").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "/// The spec name of a class/method id pair, e.g. `(60, 40)` is `\"basic.publish\"`."
    )
    .unwrap();
    writeln!(
        w,
        "pub const fn method_name(class_id: u16, method_id: u16) -> Option<&'static str> {{"
    )
    .unwrap();
    writeln!(w, "    match (class_id, method_id) {{").unwrap();
    for m in &methods {
        writeln!(
            w,
            "        ({}, {}) => Some({}::NAME),",
            m.class_id, m.id, m.rust
        )
        .unwrap();
    }
    writeln!(w, "        _ => None,").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();

    // ---------------------------------------------------------------- properties
    let basic = arr_of(spec, "classes")?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("basic"))
        .ok_or("spec: no basic class")?;
    let props = arr_of(basic, "properties")?
        .iter()
        .map(|p| resolve_field(spec, p))
        .collect::<Result<Vec<_>, _>>()?;
    if props.len() > 15 {
        return Err("spec: more than 15 basic properties need flag continuation".into());
    }
    let unused_mask = (1u32 << (16 - props.len())) - 1;
    writeln!(
        w,
        "/// The {} properties of a `basic` content header. `None` properties are absent",
        props.len()
    )
    .unwrap();
    writeln!(w, "/// from the wire (their property flag bit is clear).").unwrap();
    writeln!(w, "#[derive(Debug, Clone, PartialEq, Default)]").unwrap();
    writeln!(w, "pub struct BasicProperties {{").unwrap();
    for (i, p) in props.iter().enumerate() {
        writeln!(
            w,
            "    /// `{}` ({}), property flag bit {}.",
            p.spec_name,
            p.ty,
            15 - i
        )
        .unwrap();
        writeln!(w, "    pub {}: Option<{}>,", p.name, rust_type(&p.ty)?).unwrap();
    }
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "impl BasicProperties {{").unwrap();
    writeln!(
        w,
        "    /// Property flag bits that name no property (bit 0 would announce a continuation)."
    )
    .unwrap();
    writeln!(w, "    pub const UNUSED_FLAGS: u16 = {unused_mask:#06x};").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// The property flags word for the properties that are present."
    )
    .unwrap();
    writeln!(w, "    pub fn flags(&self) -> u16 {{").unwrap();
    writeln!(w, "        let mut flags = 0;").unwrap();
    for (i, p) in props.iter().enumerate() {
        writeln!(w, "        if self.{}.is_some() {{", p.name).unwrap();
        writeln!(w, "            flags |= 1 << {};", 15 - i).unwrap();
        writeln!(w, "        }}").unwrap();
    }
    writeln!(w, "        flags").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    pub(crate) fn decode(flags: u16, r: &mut Reader) -> Result<Self, Error> {{"
    )
    .unwrap();
    writeln!(w, "        if flags & Self::UNUSED_FLAGS != 0 {{").unwrap();
    writeln!(
        w,
        "            return Err(Error::BadPropertyFlags {{ flags }});"
    )
    .unwrap();
    writeln!(w, "        }}").unwrap();
    writeln!(w, "        Ok(BasicProperties {{").unwrap();
    for (i, p) in props.iter().enumerate() {
        writeln!(
            w,
            "            {}: if flags & (1 << {}) != 0 {{",
            p.name,
            15 - i
        )
        .unwrap();
        writeln!(w, "                Some({})", read_expr(p)).unwrap();
        writeln!(w, "            }} else {{").unwrap();
        writeln!(w, "                None").unwrap();
        writeln!(w, "            }},").unwrap();
    }
    writeln!(w, "        }})").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// Appends the property flags and the present properties to `buf`."
    )
    .unwrap();
    writeln!(
        w,
        "    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), Error> {{"
    )
    .unwrap();
    writeln!(w, "        buf.put_u16(self.flags());").unwrap();
    for p in &props {
        writeln!(w, "        if let Some(v) = &self.{} {{", p.name).unwrap();
        let stmt = write_stmt(p, "*v").replace("&*v", "v");
        writeln!(w, "            {stmt}").unwrap();
        writeln!(w, "        }}").unwrap();
    }
    writeln!(w, "        Ok(())").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w, "}}").unwrap();
    writeln!(w).unwrap();

    // ---------------------------------------------------------------- proptest strategies
    writeln!(
        w,
        "/// proptest strategies: one per method, and one for `BasicProperties`."
    )
    .unwrap();
    writeln!(w, "#[cfg(test)]").unwrap();
    writeln!(w, "pub(crate) mod strategies {{").unwrap();
    writeln!(w, "    use super::*;").unwrap();
    writeln!(
        w,
        "    use crate::test_strategies::{{field_table, long_str, short_str}};"
    )
    .unwrap();
    writeln!(w, "    use proptest::prelude::*;").unwrap();
    writeln!(w).unwrap();
    for m in &methods {
        let fname = snake(&format!("{}-{}", m.class_name, m.name));
        writeln!(
            w,
            "    pub(crate) fn {fname}() -> impl Strategy<Value = {}> {{",
            m.rust
        )
        .unwrap();
        if m.fields.is_empty() {
            writeln!(w, "        Just({})", m.rust).unwrap();
        } else {
            let strats: Vec<&str> = m.fields.iter().map(|f| strategy_expr(&f.ty)).collect();
            let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
            writeln!(w, "        ({},)", strats.join(", ")).unwrap();
            writeln!(
                w,
                "            .prop_map(|({},)| {} {{ {} }})",
                names.join(", "),
                m.rust,
                names.join(", ")
            )
            .unwrap();
        }
        writeln!(w, "    }}").unwrap();
        writeln!(w).unwrap();
    }
    writeln!(
        w,
        "    /// Every method's strategy, named, so a test can cover each one."
    )
    .unwrap();
    writeln!(
        w,
        "    pub(crate) fn all_methods() -> Vec<(&'static str, BoxedStrategy<Method>)> {{"
    )
    .unwrap();
    writeln!(w, "        vec![").unwrap();
    for m in &methods {
        let fname = snake(&format!("{}-{}", m.class_name, m.name));
        writeln!(
            w,
            "            ({}::NAME, {fname}().prop_map(Method::from).boxed()),",
            m.rust
        )
        .unwrap();
    }
    writeln!(w, "        ]").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "    /// Any method.").unwrap();
    writeln!(
        w,
        "    pub(crate) fn any_method() -> impl Strategy<Value = Method> {{"
    )
    .unwrap();
    writeln!(
        w,
        "        proptest::strategy::Union::new(all_methods().into_iter().map(|(_, s)| s))"
    )
    .unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// Any subset of the basic properties, with any values."
    )
    .unwrap();
    writeln!(
        w,
        "    pub(crate) fn basic_properties() -> impl Strategy<Value = BasicProperties> {{"
    )
    .unwrap();
    let half = props.len().div_ceil(2);
    let (first, second) = props.split_at(half);
    let tuple = |ps: &[Field]| -> String {
        ps.iter()
            .map(|p| format!("proptest::option::of({})", strategy_expr(&p.ty)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names = |ps: &[Field]| -> String {
        ps.iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(w, "        (({},), ({},))", tuple(first), tuple(second)).unwrap();
    writeln!(
        w,
        "            .prop_map(|(({},), ({},))| BasicProperties {{",
        names(first),
        names(second)
    )
    .unwrap();
    for p in &props {
        writeln!(w, "                {},", p.name).unwrap();
    }
    writeln!(w, "            }})").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w, "}}").unwrap();
    Ok(o)
}

#[cfg(test)]
mod tests {
    /// CI also runs `cargo xtask codegen --check`; this makes a plain `cargo test` catch it too.
    #[test]
    fn amqp_generated_code_is_current() {
        if let Err(e) = super::amqp(true) {
            panic!("{e}");
        }
    }
}
