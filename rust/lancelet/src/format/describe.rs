//! Short, readable descriptions of page encodings, for `inspect` and metadata listings.

use crate::format::pb::v2_0 as pb20;
use crate::format::pb::v2_1 as pb21;
use crate::format::{PageEncoding, PageInfo};

/// Describes a page's encoding in one line, for example
/// `nullable(some_nulls(flat(1), flat(32)))` or `mini_block(values=inline_bitpacking(32))`.
pub fn describe(page: &PageInfo) -> String {
    match &page.encoding {
        PageEncoding::V2_0(tree) => describe_v2_0(tree),
        PageEncoding::Structural(layout) => describe_layout(layout, page.buffers.len()),
    }
}

fn describe_v2_0(encoding: &pb20::ArrayEncoding) -> String {
    use pb20::array_encoding::ArrayEncoding as E;
    use pb20::nullable::Nullability;
    let child = |e: &Option<Box<pb20::ArrayEncoding>>| {
        e.as_deref().map_or_else(|| "?".to_string(), describe_v2_0)
    };
    match &encoding.array_encoding {
        None => "?".into(),
        Some(E::Flat(flat)) => match &flat.compression {
            Some(c) => format!("flat({}, {})", flat.bits_per_value, c.scheme),
            None => format!("flat({})", flat.bits_per_value),
        },
        Some(E::Nullable(n)) => match &n.nullability {
            Some(Nullability::NoNulls(x)) => format!("nullable(no_nulls({}))", child(&x.values)),
            Some(Nullability::SomeNulls(x)) => format!(
                "nullable(some_nulls({}, {}))",
                child(&x.validity),
                child(&x.values)
            ),
            Some(Nullability::AllNulls(_)) => "nullable(all_nulls)".into(),
            None => "nullable(?)".into(),
        },
        Some(E::FixedSizeList(f)) => {
            format!("fixed_size_list({}, {})", f.dimension, child(&f.items))
        }
        Some(E::List(l)) => format!("list(offsets={}, items={})", child(&l.offsets), l.num_items),
        Some(E::Struct(_)) => "struct".into(),
        Some(E::Binary(b)) => format!("binary({}, {})", child(&b.indices), child(&b.bytes)),
        Some(E::Dictionary(d)) => format!(
            "dictionary({}, items={}, n={})",
            child(&d.indices),
            child(&d.items),
            d.num_dictionary_items
        ),
        Some(other) => format!("{other:?}")
            .split('(')
            .next()
            .unwrap_or("?")
            .to_lowercase(),
    }
}

fn describe_layout(layout: &pb21::PageLayout, buffers: usize) -> String {
    use pb21::page_layout::Layout;
    match &layout.layout {
        None => "?".into(),
        Some(Layout::MiniBlockLayout(m)) => {
            let mut parts = vec![format!(
                "values={}",
                compressive(m.value_compression.as_ref())
            )];
            if let Some(d) = &m.dictionary {
                parts.push(format!(
                    "dictionary={}({})",
                    compressive(Some(d)),
                    m.num_dictionary_items
                ));
            }
            if m.rep_compression.is_some() {
                parts.push(format!("rep={}", compressive(m.rep_compression.as_ref())));
            }
            if m.def_compression.is_some() {
                parts.push(format!("def={}", compressive(m.def_compression.as_ref())));
            }
            format!("mini_block({})", parts.join(", "))
        }
        // A scalar buffer comes before the two level buffers, so constants have an odd count.
        Some(Layout::ConstantLayout(c)) => match &c.inline_value {
            Some(value) => format!("constant({} bytes)", value.len()),
            None if !buffers.is_multiple_of(2) => "constant(scalar)".into(),
            None => "all_null".into(),
        },
        Some(Layout::FullZipLayout(f)) => {
            format!(
                "full_zip(values={})",
                compressive(f.value_compression.as_ref())
            )
        }
        Some(Layout::BlobLayout(_)) => "blob".into(),
    }
}

fn compressive(encoding: Option<&pb21::CompressiveEncoding>) -> String {
    use pb21::compressive_encoding::Compression as C;
    let Some(compression) = encoding.and_then(|e| e.compression.as_ref()) else {
        return "?".into();
    };
    let child = |e: &Option<Box<pb21::CompressiveEncoding>>| compressive(e.as_deref());
    match compression {
        C::Flat(f) => format!("flat({})", f.bits_per_value),
        C::Variable(v) => format!("variable({})", child(&v.offsets)),
        C::Constant(_) => "constant".into(),
        C::OutOfLineBitpacking(b) => format!("out_of_line_bitpacking({})", child(&b.values)),
        C::InlineBitpacking(b) => format!("inline_bitpacking({})", b.uncompressed_bits_per_value),
        C::Fsst(f) => format!("fsst({})", child(&f.values)),
        C::Dictionary(d) => format!("dictionary({}, {})", child(&d.indices), child(&d.items)),
        C::Rle(r) => format!("rle({}, {})", child(&r.values), child(&r.run_lengths)),
        C::ByteStreamSplit(b) => format!("byte_stream_split({})", child(&b.values)),
        C::General(g) => {
            let scheme = g.compression.as_ref().map_or(0, |c| c.scheme);
            let name = match scheme {
                1 => "lz4",
                2 => "zstd",
                _ => "?",
            };
            format!("general({name}, {})", child(&g.values))
        }
        C::FixedSizeList(f) => format!(
            "fixed_size_list({}, {})",
            f.items_per_value,
            child(&f.values)
        ),
        C::PackedStruct(p) => format!("packed_struct({})", child(&p.values)),
        C::VariablePackedStruct(_) => "variable_packed_struct".into(),
    }
}
