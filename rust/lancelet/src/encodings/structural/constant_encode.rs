//! Writing all-null and constant pages (the layout is described in [`super::constant`]).

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::EncodedPage;
use crate::encodings::compression::encode::{encoding, flat_encoding};
use crate::encodings::compression::{bitpacking, rle};
use crate::encodings::structural::page::PageContext;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{FileVersion, PageEncoding};
use pb::compressive_encoding::Compression as C;

fn raw_levels(levels: Option<&[u16]>) -> Bytes {
    Bytes::from(
        levels
            .unwrap_or_default()
            .iter()
            .flat_map(|l| l.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

fn page(ctx: &PageContext, layout: pb::ConstantLayout, buffers: Vec<Bytes>) -> EncodedPage {
    EncodedPage {
        buffers,
        num_rows: ctx.num_rows,
        encoding: PageEncoding::Structural(pb::PageLayout {
            layout: Some(pb::page_layout::Layout::ConstantLayout(layout)),
        }),
    }
}

fn layers(ctx: &PageContext) -> Vec<i32> {
    ctx.layers.iter().map(|l| l.to_proto()).collect()
}

/// A page in which no entry carries a non-null value. A top-level leaf (one layer) needs no
/// buffers; anything nested stores its rep and def levels, raw u16 in 2.1 and compressed in
/// 2.2.
pub fn all_null(ctx: &PageContext, rep: Option<&[u16]>, def: Option<&[u16]>) -> EncodedPage {
    let mut layout = pb::ConstantLayout {
        layers: layers(ctx),
        ..Default::default()
    };
    let buffers = if ctx.layers.len() == 1 {
        Vec::new()
    } else if ctx.version >= FileVersion::V2_2 {
        let (rep_buffer, rep_encoding) = compressed_levels(rep);
        let (def_buffer, def_encoding) = compressed_levels(def);
        layout.rep_compression = rep_encoding;
        layout.def_compression = def_encoding;
        layout.num_rep_values = rep.map_or(0, |r| r.len() as u64);
        layout.num_def_values = def.map_or(0, |d| d.len() as u64);
        vec![rep_buffer, def_buffer]
    } else {
        vec![raw_levels(rep), raw_levels(def)]
    };
    page(ctx, layout, buffers)
}

/// Levels as the smaller of out-of-line bit-packing and run-length encoding (an empty buffer
/// and no encoding when there are none).
fn compressed_levels(levels: Option<&[u16]>) -> (Bytes, Option<pb::CompressiveEncoding>) {
    let Some(levels) = levels.filter(|l| !l.is_empty()) else {
        return (Bytes::new(), None);
    };
    let (width, packed) = bitpacking::encode_out_of_line(levels);
    let raw: Vec<u8> = levels.iter().flat_map(|l| l.to_le_bytes()).collect();
    let runs = rle::encode_block(&raw, 2);
    if runs.len() < packed.len() {
        let rle_encoding = encoding(C::Rle(Box::new(pb::Rle {
            values: Some(Box::new(flat_encoding(16))),
            run_lengths: Some(Box::new(flat_encoding(8))),
        })));
        (Bytes::from(runs), Some(rle_encoding))
    } else {
        let packed_encoding = encoding(C::OutOfLineBitpacking(Box::new(pb::OutOfLineBitpacking {
            uncompressed_bits_per_value: 16,
            values: Some(Box::new(flat_encoding(width as u64))),
        })));
        (Bytes::from(packed), Some(packed_encoding))
    }
}

/// The bytes that make `value` (a one-value array) a constant: inline for fixed-width values
/// of at most 32 bytes, else a scalar buffer. `None` when the type cannot be a constant.
pub fn constant_bytes(value: &ArrayRef) -> Option<(Option<Vec<u8>>, Option<Bytes>)> {
    match value.data_type() {
        DataType::Boolean => {
            let bools = value.as_any().downcast_ref::<arrow_array::BooleanArray>()?;
            Some((Some(vec![u8::from(bools.value(0))]), None))
        }
        DataType::FixedSizeBinary(width) => {
            let fsb = value
                .as_any()
                .downcast_ref::<arrow_array::FixedSizeBinaryArray>()?;
            let bytes = fsb.value(0).to_vec();
            if *width <= 32 {
                Some((Some(bytes), None))
            } else {
                Some((None, Some(scalar_buffer(&[&bytes]))))
            }
        }
        DataType::Utf8 | DataType::Binary => {
            let bytes = variable_value(value)?;
            let offsets: Vec<u8> = [0i32, bytes.len() as i32]
                .iter()
                .flat_map(|o| o.to_le_bytes())
                .collect();
            Some((None, Some(scalar_buffer(&[&offsets, bytes]))))
        }
        DataType::LargeUtf8 | DataType::LargeBinary => {
            let bytes = variable_value(value)?;
            let offsets: Vec<u8> = [0i64, bytes.len() as i64]
                .iter()
                .flat_map(|o| o.to_le_bytes())
                .collect();
            Some((None, Some(scalar_buffer(&[&offsets, bytes]))))
        }
        other => {
            let width = other.primitive_width()?;
            let data = value.to_data();
            let buffer = data.buffers().first()?;
            let bytes = buffer
                .as_slice()
                .get(data.offset() * width..(data.offset() + 1) * width)?;
            (width <= 32).then(|| (Some(bytes.to_vec()), None))
        }
    }
}

/// The bytes of the first value of a string or binary array.
fn variable_value(value: &ArrayRef) -> Option<&[u8]> {
    use arrow_array::cast::AsArray;
    Some(match value.data_type() {
        DataType::Utf8 => value.as_string::<i32>().value(0).as_bytes(),
        DataType::LargeUtf8 => value.as_string::<i64>().value(0).as_bytes(),
        DataType::Binary => value.as_binary::<i32>().value(0),
        DataType::LargeBinary => value.as_binary::<i64>().value(0),
        _ => return None,
    })
}

/// `[u32 count][u32 size of each][the buffers]`: the Arrow buffers of a one-value array.
fn scalar_buffer(buffers: &[&[u8]]) -> Bytes {
    let mut out = Vec::new();
    out.extend_from_slice(&(buffers.len() as u32).to_le_bytes());
    for buffer in buffers {
        out.extend_from_slice(&(buffer.len() as u32).to_le_bytes());
    }
    for buffer in buffers {
        out.extend_from_slice(buffer);
    }
    Bytes::from(out)
}

/// A 2.2 constant page: every entry that carries a value holds `value` or is null.
pub fn constant(
    ctx: &PageContext,
    rep: Option<&[u16]>,
    def: Option<&[u16]>,
    inline: Option<Vec<u8>>,
    scalar: Option<Bytes>,
) -> Result<EncodedPage> {
    if inline.is_none() == scalar.is_none() {
        return Err(Error::internal(
            "a constant needs exactly one of an inline value and a scalar",
        ));
    }
    let layout = pb::ConstantLayout {
        layers: layers(ctx),
        inline_value: inline,
        ..Default::default()
    };
    let mut buffers: Vec<Bytes> = scalar.into_iter().collect();
    if rep.is_some() || def.is_some() {
        buffers.push(raw_levels(rep));
        buffers.push(raw_levels(def));
    }
    Ok(page(ctx, layout, buffers))
}
