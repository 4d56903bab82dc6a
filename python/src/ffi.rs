//! The Arrow C data and C stream interfaces, export side only
//! (<https://arrow.apache.org/docs/format/CDataInterface.html>,
//! <https://arrow.apache.org/docs/format/CStreamInterface.html>).
//!
//! Arrays are exported without copying: each exported `ArrowArray` points at
//! the buffers of an `ArrayData` that it keeps alive until the consumer
//! releases it. Only a validity bitmap whose bit offset differs from its
//! array's offset is rebuilt (a few bytes per 8 rows).
//!
//! Written here rather than taken from arrow's `ffi` feature (or pyo3-arrow,
//! which needs it): that feature changes arrow-schema's features, and so the
//! build of every crate above it — arrow, parquet and DataFusion — for the
//! whole workspace.

use std::ffi::{CString, c_char, c_int, c_void};
use std::ptr;

use arrow::array::{Array, ArrayData, RecordBatch, StructArray};
use arrow::buffer::{Buffer, MutableBuffer};
use arrow::datatypes::{DataType, Field, IntervalUnit, SchemaRef, TimeUnit, UnionMode};

const FLAG_DICTIONARY_ORDERED: i64 = 1;
const FLAG_NULLABLE: i64 = 2;
const FLAG_MAP_KEYS_SORTED: i64 = 4;

const EINVAL: c_int = 22;
const EIO: c_int = 5;

#[repr(C)]
pub struct ArrowSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut ArrowSchema,
    dictionary: *mut ArrowSchema,
    release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    private_data: *mut c_void,
}

#[repr(C)]
pub struct ArrowArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut ArrowArray,
    dictionary: *mut ArrowArray,
    release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    private_data: *mut c_void,
}

#[repr(C)]
pub struct ArrowArrayStream {
    get_schema: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowSchema) -> c_int>,
    get_next: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowArray) -> c_int>,
    get_last_error: Option<unsafe extern "C" fn(*mut ArrowArrayStream) -> *const c_char>,
    release: Option<unsafe extern "C" fn(*mut ArrowArrayStream)>,
    private_data: *mut c_void,
}

// A released (or not yet filled) struct: every pointer null, no release.
impl ArrowSchema {
    fn empty() -> ArrowSchema {
        ArrowSchema {
            format: ptr::null(),
            name: ptr::null(),
            metadata: ptr::null(),
            flags: 0,
            n_children: 0,
            children: ptr::null_mut(),
            dictionary: ptr::null_mut(),
            release: None,
            private_data: ptr::null_mut(),
        }
    }
}

impl ArrowArray {
    fn empty() -> ArrowArray {
        ArrowArray {
            length: 0,
            null_count: 0,
            offset: 0,
            n_buffers: 0,
            n_children: 0,
            buffers: ptr::null_mut(),
            children: ptr::null_mut(),
            dictionary: ptr::null_mut(),
            release: None,
            private_data: ptr::null_mut(),
        }
    }
}

// ---------------------------------------------------------------- schemas

struct SchemaPrivate {
    format: CString,
    name: CString,
    metadata: Option<Vec<u8>>,
    children: Vec<*mut ArrowSchema>,
    dictionary: *mut ArrowSchema,
}

/// The format string of a type (its children and dictionary are exported
/// separately), or why it cannot be exported.
fn format_of(data_type: &DataType) -> Result<String, String> {
    let unit = |u: &TimeUnit| match u {
        TimeUnit::Second => 's',
        TimeUnit::Millisecond => 'm',
        TimeUnit::Microsecond => 'u',
        TimeUnit::Nanosecond => 'n',
    };
    Ok(match data_type {
        DataType::Null => "n".into(),
        DataType::Boolean => "b".into(),
        DataType::Int8 => "c".into(),
        DataType::UInt8 => "C".into(),
        DataType::Int16 => "s".into(),
        DataType::UInt16 => "S".into(),
        DataType::Int32 => "i".into(),
        DataType::UInt32 => "I".into(),
        DataType::Int64 => "l".into(),
        DataType::UInt64 => "L".into(),
        DataType::Float16 => "e".into(),
        DataType::Float32 => "f".into(),
        DataType::Float64 => "g".into(),
        DataType::Binary => "z".into(),
        DataType::LargeBinary => "Z".into(),
        DataType::BinaryView => "vz".into(),
        DataType::Utf8 => "u".into(),
        DataType::LargeUtf8 => "U".into(),
        DataType::Utf8View => "vu".into(),
        DataType::FixedSizeBinary(n) => format!("w:{n}"),
        DataType::Decimal32(p, s) => format!("d:{p},{s},32"),
        DataType::Decimal64(p, s) => format!("d:{p},{s},64"),
        DataType::Decimal128(p, s) => format!("d:{p},{s}"),
        DataType::Decimal256(p, s) => format!("d:{p},{s},256"),
        DataType::Date32 => "tdD".into(),
        DataType::Date64 => "tdm".into(),
        DataType::Time32(u) => format!("tt{}", unit(u)),
        DataType::Time64(u) => format!("tt{}", unit(u)),
        DataType::Timestamp(u, tz) => format!("ts{}:{}", unit(u), tz.as_deref().unwrap_or("")),
        DataType::Duration(u) => format!("tD{}", unit(u)),
        DataType::Interval(IntervalUnit::YearMonth) => "tiM".into(),
        DataType::Interval(IntervalUnit::DayTime) => "tiD".into(),
        DataType::Interval(IntervalUnit::MonthDayNano) => "tin".into(),
        DataType::List(_) => "+l".into(),
        DataType::LargeList(_) => "+L".into(),
        DataType::FixedSizeList(_, n) => format!("+w:{n}"),
        DataType::Struct(_) => "+s".into(),
        DataType::Map(_, _) => "+m".into(),
        DataType::Dictionary(key, _) => format_of(key)?,
        DataType::Union(_, UnionMode::Sparse) | DataType::Union(_, UnionMode::Dense) => {
            return Err(format!("type {data_type} cannot be exported to Python yet"));
        }
        other => return Err(format!("type {other} cannot be exported to Python yet")),
    })
}

/// Arrow's binary metadata encoding: count, then length-prefixed keys and values.
fn encode_metadata(metadata: &std::collections::HashMap<String, String>) -> Option<Vec<u8>> {
    if metadata.is_empty() {
        return None;
    }
    let mut pairs: Vec<_> = metadata.iter().collect();
    pairs.sort();
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as i32).to_ne_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as i32).to_ne_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as i32).to_ne_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    Some(out)
}

fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "")).expect("no NUL left")
}

/// Exports one field (name, type, nullability, metadata) into `out`.
fn export_field(field: &Field, out: &mut ArrowSchema) -> Result<(), String> {
    let data_type = field.data_type();
    let format = c_string(&format_of(data_type)?);
    let name = c_string(field.name());
    let metadata = encode_metadata(field.metadata());
    let mut flags = if field.is_nullable() { FLAG_NULLABLE } else { 0 };
    let child_fields: Vec<Field> = match data_type {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => vec![f.as_ref().clone()],
        DataType::Map(f, sorted) => {
            if *sorted {
                flags |= FLAG_MAP_KEYS_SORTED;
            }
            vec![f.as_ref().clone()]
        }
        DataType::Struct(fields) => fields.iter().map(|f| f.as_ref().clone()).collect(),
        _ => Vec::new(),
    };
    let mut children = Vec::with_capacity(child_fields.len());
    for child in &child_fields {
        let mut schema = Box::new(ArrowSchema::empty());
        if let Err(e) = export_field(child, &mut schema) {
            for c in children {
                release_boxed_schema(c);
            }
            return Err(e);
        }
        children.push(Box::into_raw(schema));
    }
    let dictionary = match data_type {
        DataType::Dictionary(_, values) => {
            if field.dict_is_ordered() == Some(true) {
                flags |= FLAG_DICTIONARY_ORDERED;
            }
            let mut schema = Box::new(ArrowSchema::empty());
            if let Err(e) = export_field(&Field::new("", values.as_ref().clone(), true), &mut schema) {
                for c in children {
                    release_boxed_schema(c);
                }
                return Err(e);
            }
            Box::into_raw(schema)
        }
        _ => ptr::null_mut(),
    };
    let mut private = Box::new(SchemaPrivate { format, name, metadata, children, dictionary });
    out.format = private.format.as_ptr();
    out.name = private.name.as_ptr();
    out.metadata = private.metadata.as_ref().map_or(ptr::null(), |m| m.as_ptr().cast());
    out.flags = flags;
    out.n_children = private.children.len() as i64;
    out.children = private.children.as_mut_ptr();
    out.dictionary = private.dictionary;
    out.release = Some(release_schema);
    out.private_data = Box::into_raw(private).cast();
    Ok(())
}

fn release_boxed_schema(schema: *mut ArrowSchema) {
    // SAFETY: `schema` came from Box::into_raw and is released once here.
    unsafe {
        if let Some(release) = (*schema).release {
            release(schema);
        }
        drop(Box::from_raw(schema));
    }
}

unsafe extern "C" fn release_schema(schema: *mut ArrowSchema) {
    if schema.is_null() {
        return;
    }
    // SAFETY: called by the consumer on a schema this module filled.
    let schema = unsafe { &mut *schema };
    if schema.release.is_none() {
        return;
    }
    // SAFETY: private_data is the SchemaPrivate this module leaked.
    let private = unsafe { Box::from_raw(schema.private_data.cast::<SchemaPrivate>()) };
    for &child in &private.children {
        release_boxed_schema(child);
    }
    if !private.dictionary.is_null() {
        release_boxed_schema(private.dictionary);
    }
    *schema = ArrowSchema::empty();
}

/// Exports a table schema as the struct type of its record batches.
pub fn export_schema(schema: &SchemaRef, out: &mut ArrowSchema) -> Result<(), String> {
    let field =
        Field::new("", DataType::Struct(schema.fields().clone()), false).with_metadata(schema.metadata().clone());
    export_field(&field, out)
}

// ---------------------------------------------------------------- arrays

struct ArrayPrivate {
    /// Keeps the buffers alive.
    _data: ArrayData,
    /// A validity bitmap rebuilt at the array's offset, when needed.
    _validity: Option<Buffer>,
    /// The sizes of a view array's data buffers (its last C buffer).
    _variadic_sizes: Option<Vec<i64>>,
    buffers: Vec<*const c_void>,
    children: Vec<*mut ArrowArray>,
    dictionary: *mut ArrowArray,
}

/// The validity bitmap as the C interface reads it: bit `offset + i` for
/// row i. Arrow-rs keeps a bitmap with its own bit offset; rebuilt when the
/// two differ.
fn validity(data: &ArrayData) -> (Option<Buffer>, *const c_void) {
    let Some(nulls) = data.nulls() else { return (None, ptr::null()) };
    if nulls.null_count() == 0 {
        return (None, ptr::null());
    }
    if nulls.offset() == data.offset() {
        return (None, nulls.buffer().as_ptr().cast());
    }
    let bits = data.offset() + data.len();
    let mut bitmap = MutableBuffer::from_len_zeroed(bits.div_ceil(8));
    let bytes = bitmap.as_slice_mut();
    for i in 0..data.len() {
        if nulls.is_valid(i) {
            let bit = data.offset() + i;
            bytes[bit / 8] |= 1 << (bit % 8);
        }
    }
    let buffer: Buffer = bitmap.into();
    let pointer = buffer.as_ptr().cast();
    (Some(buffer), pointer)
}

fn export_data(data: &ArrayData, out: &mut ArrowArray) -> Result<(), String> {
    let data_type = data.data_type();
    format_of(data_type)?;
    let (rebuilt, validity_ptr) = validity(data);
    let mut variadic_sizes = None;
    let mut buffers: Vec<*const c_void> = Vec::new();
    match data_type {
        DataType::Null => {}
        // Unions and run-end encoding are refused by `format_of`.
        DataType::BinaryView | DataType::Utf8View => {
            buffers.push(validity_ptr);
            let sizes: Vec<i64> = data.buffers()[1..].iter().map(|b| b.len() as i64).collect();
            buffers.extend(data.buffers().iter().map(|b| b.as_ptr().cast::<c_void>()));
            buffers.push(sizes.as_ptr().cast());
            variadic_sizes = Some(sizes);
        }
        _ => {
            buffers.push(validity_ptr);
            buffers.extend(data.buffers().iter().map(|b| b.as_ptr().cast::<c_void>()));
        }
    }
    let (child_data, dictionary_data): (&[ArrayData], Option<&ArrayData>) = match data_type {
        DataType::Dictionary(_, _) => (&[], data.child_data().first()),
        _ => (data.child_data(), None),
    };
    let mut children = Vec::with_capacity(child_data.len());
    let mut dictionary = ptr::null_mut();
    let mut failure = None;
    for child in child_data {
        let mut array = Box::new(ArrowArray::empty());
        if let Err(e) = export_data(child, &mut array) {
            failure = Some(e);
            break;
        }
        children.push(Box::into_raw(array));
    }
    if failure.is_none()
        && let Some(values) = dictionary_data
    {
        let mut array = Box::new(ArrowArray::empty());
        match export_data(values, &mut array) {
            Ok(()) => dictionary = Box::into_raw(array),
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        for c in children {
            release_boxed_array(c);
        }
        return Err(e);
    }
    let null_count = match data_type {
        DataType::Null => data.len(),
        _ => data.null_count(),
    };
    let mut private = Box::new(ArrayPrivate {
        _data: data.clone(),
        _validity: rebuilt,
        _variadic_sizes: variadic_sizes,
        buffers,
        children,
        dictionary,
    });
    out.length = data.len() as i64;
    out.null_count = null_count as i64;
    out.offset = data.offset() as i64;
    out.n_buffers = private.buffers.len() as i64;
    out.n_children = private.children.len() as i64;
    out.buffers = private.buffers.as_mut_ptr();
    out.children = private.children.as_mut_ptr();
    out.dictionary = private.dictionary;
    out.release = Some(release_array);
    out.private_data = Box::into_raw(private).cast();
    Ok(())
}

fn release_boxed_array(array: *mut ArrowArray) {
    // SAFETY: `array` came from Box::into_raw and is released once here.
    unsafe {
        if let Some(release) = (*array).release {
            release(array);
        }
        drop(Box::from_raw(array));
    }
}

unsafe extern "C" fn release_array(array: *mut ArrowArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: called by the consumer on an array this module filled.
    let array = unsafe { &mut *array };
    if array.release.is_none() {
        return;
    }
    // SAFETY: private_data is the ArrayPrivate this module leaked.
    let private = unsafe { Box::from_raw(array.private_data.cast::<ArrayPrivate>()) };
    for &child in &private.children {
        release_boxed_array(child);
    }
    if !private.dictionary.is_null() {
        release_boxed_array(private.dictionary);
    }
    *array = ArrowArray::empty();
}

/// Exports a record batch as one struct array (its columns as children).
pub fn export_batch(batch: &RecordBatch, out: &mut ArrowArray) -> Result<(), String> {
    let data = StructArray::from(batch.clone()).into_data();
    export_data(&data, out)
}

// ---------------------------------------------------------------- streams

struct StreamPrivate {
    schema: SchemaRef,
    batches: std::vec::IntoIter<RecordBatch>,
    error: Option<CString>,
}

/// A stream over `batches` (already computed; their buffers are shared, not copied).
pub fn export_stream(schema: SchemaRef, batches: Vec<RecordBatch>) -> ArrowArrayStream {
    let private = Box::new(StreamPrivate { schema, batches: batches.into_iter(), error: None });
    ArrowArrayStream {
        get_schema: Some(stream_get_schema),
        get_next: Some(stream_get_next),
        get_last_error: Some(stream_get_last_error),
        release: Some(release_stream),
        private_data: Box::into_raw(private).cast(),
    }
}

/// A released schema, for a producer to fill.
pub fn empty_schema() -> ArrowSchema {
    ArrowSchema::empty()
}

/// Releases a schema the consumer did not take (the capsule's destructor).
///
/// # Safety
/// `schema` points at a live schema, released or not.
pub unsafe fn release_schema_if_live(schema: *mut ArrowSchema) {
    // SAFETY: the caller's promise.
    unsafe {
        if let Some(release) = (*schema).release {
            release(schema);
        }
    }
}

/// Releases a stream the consumer did not take (the capsule's destructor).
///
/// # Safety
/// `stream` points at a live stream, released or not.
pub unsafe fn release_if_live(stream: *mut ArrowArrayStream) {
    // SAFETY: the caller's promise.
    unsafe {
        if let Some(release) = (*stream).release {
            release(stream);
        }
    }
}

fn stream_state<'a>(stream: *mut ArrowArrayStream) -> Option<&'a mut StreamPrivate> {
    if stream.is_null() {
        return None;
    }
    // SAFETY: a live stream's private_data is the StreamPrivate this module leaked.
    unsafe {
        (*stream).release?;
        (*stream).private_data.cast::<StreamPrivate>().as_mut()
    }
}

unsafe extern "C" fn stream_get_schema(stream: *mut ArrowArrayStream, out: *mut ArrowSchema) -> c_int {
    let Some(state) = stream_state(stream) else { return EINVAL };
    if out.is_null() {
        return EINVAL;
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut schema = ArrowSchema::empty();
        export_schema(&state.schema, &mut schema).map(|()| schema)
    }));
    match result {
        Ok(Ok(schema)) => {
            // SAFETY: `out` is the consumer's (released) struct to fill.
            unsafe { out.write(schema) };
            0
        }
        Ok(Err(e)) => {
            state.error = Some(c_string(&e));
            EIO
        }
        Err(_) => {
            state.error = Some(c_string("internal error exporting the schema"));
            EIO
        }
    }
}

unsafe extern "C" fn stream_get_next(stream: *mut ArrowArrayStream, out: *mut ArrowArray) -> c_int {
    let Some(state) = stream_state(stream) else { return EINVAL };
    if out.is_null() {
        return EINVAL;
    }
    let Some(batch) = state.batches.next() else {
        // End of stream: a released array.
        // SAFETY: `out` is the consumer's struct to fill.
        unsafe { out.write(ArrowArray::empty()) };
        return 0;
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut array = ArrowArray::empty();
        export_batch(&batch, &mut array).map(|()| array)
    }));
    match result {
        Ok(Ok(array)) => {
            // SAFETY: as above.
            unsafe { out.write(array) };
            0
        }
        Ok(Err(e)) => {
            state.error = Some(c_string(&e));
            EIO
        }
        Err(_) => {
            state.error = Some(c_string("internal error exporting a batch"));
            EIO
        }
    }
}

unsafe extern "C" fn stream_get_last_error(stream: *mut ArrowArrayStream) -> *const c_char {
    match stream_state(stream) {
        Some(state) => state.error.as_ref().map_or(ptr::null(), |e| e.as_ptr()),
        None => ptr::null(),
    }
}

unsafe extern "C" fn release_stream(stream: *mut ArrowArrayStream) {
    if stream.is_null() {
        return;
    }
    // SAFETY: called by the consumer on a stream this module filled.
    let stream = unsafe { &mut *stream };
    if stream.release.is_none() {
        return;
    }
    // SAFETY: private_data is the StreamPrivate this module leaked.
    drop(unsafe { Box::from_raw(stream.private_data.cast::<StreamPrivate>()) });
    stream.get_schema = None;
    stream.get_next = None;
    stream.get_last_error = None;
    stream.release = None;
    stream.private_data = ptr::null_mut();
}

/// Checks that every column of `schema` can be exported (so that a result
/// with an unsupported type fails when it is made, with its column named).
pub fn check_schema(schema: &SchemaRef) -> Result<(), String> {
    fn check(field: &Field) -> Result<(), String> {
        format_of(field.data_type()).map_err(|e| format!("column `{}`: {e}", field.name()))?;
        match field.data_type() {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => {
                check(f)
            }
            DataType::Struct(fields) => fields.iter().try_for_each(|f| check(f)),
            DataType::Dictionary(_, values) => check(&Field::new(field.name(), values.as_ref().clone(), true)),
            _ => Ok(()),
        }
    }
    schema.fields().iter().try_for_each(|f| check(f))
}
