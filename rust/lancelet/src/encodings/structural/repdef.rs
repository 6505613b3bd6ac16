//! Repetition and definition levels: how formats 2.1 and 2.2 store nesting.
//!
//! Only leaf fields have columns. Each leaf column stores, per *entry*, a repetition level and
//! a definition level (either may be absent), plus the values of the entries that carry one.
//! The levels describe every struct and list between the top-level row and the leaf, as
//! *layers* listed innermost first: the leaf itself, then each ancestor.
//!
//! **Definition levels.** 0 means "valid at every layer". Walking the layers from the
//! innermost outwards, each layer takes the next unused non-zero codes: a nullable item or a
//! nullable list one code (null), an emptyable list one code (empty), a list that can be both
//! two codes (null, then empty); all-valid layers take none. An entry's definition level is the
//! code of the outermost layer at which it is null or empty.
//!
//! **Repetition levels.** With `m` list layers, the outermost list has depth `m` and the
//! innermost depth 1. An entry's repetition level is the depth of the outermost list that
//! starts at it (`m` at the start of every top-level row), or 0 when it continues the lists it
//! is in. There is one entry per leaf value, plus one per null or empty list (which carries
//! no value).
//!
//! Example: `list<int64>` with nullable items and lists that can be null or empty, rows
//! `[[1, null], null, [], [4]]`, layers `[nullable item, null-and-empty list]`:
//!
//! ```text
//! entry   rep  def  value
//!   0      1    0     1      row 0 starts
//!   1      0    1   (null)   null item: carries a (null) value
//!   2      1    2     -      row 1: null list, no value
//!   3      1    3     -      row 2: empty list, no value
//!   4      1    0     4      row 3
//! ```
//!
//! [`shred`] turns an Arrow array into levels and values per leaf; [`Assembler`] turns them
//! back, layer by layer from the innermost, following the field tree.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait, StructArray, UInt32Array};
use arrow_buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Fields};

use crate::encodings::buffers::attach_nulls;
use crate::error::{Error, Result};
use crate::format::columns::structural_children;
use crate::format::pb::v2_1::RepDefLayer;

/// The kind of one layer of nesting, as stored in a page's `layers` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// An item (leaf value or struct) that is never null.
    AllValidItem,
    /// An item that may be null.
    NullableItem,
    /// A list that is never null and never empty.
    AllValidList,
    /// A list that may be null (never empty).
    NullableList,
    /// A list that may be empty (never null).
    EmptyableList,
    /// A list that may be null or empty.
    NullAndEmptyList,
}

impl Layer {
    /// Reads a layer from its protobuf value.
    pub fn from_proto(value: i32) -> Result<Self> {
        match RepDefLayer::try_from(value) {
            Ok(RepDefLayer::RepdefAllValidItem) => Ok(Layer::AllValidItem),
            Ok(RepDefLayer::RepdefNullableItem) => Ok(Layer::NullableItem),
            Ok(RepDefLayer::RepdefAllValidList) => Ok(Layer::AllValidList),
            Ok(RepDefLayer::RepdefNullableList) => Ok(Layer::NullableList),
            Ok(RepDefLayer::RepdefEmptyableList) => Ok(Layer::EmptyableList),
            Ok(RepDefLayer::RepdefNullAndEmptyList) => Ok(Layer::NullAndEmptyList),
            _ => Err(Error::corrupt(format!("unknown rep/def layer {value}"))),
        }
    }

    /// The protobuf value of the layer.
    pub fn to_proto(self) -> i32 {
        let layer = match self {
            Layer::AllValidItem => RepDefLayer::RepdefAllValidItem,
            Layer::NullableItem => RepDefLayer::RepdefNullableItem,
            Layer::AllValidList => RepDefLayer::RepdefAllValidList,
            Layer::NullableList => RepDefLayer::RepdefNullableList,
            Layer::EmptyableList => RepDefLayer::RepdefEmptyableList,
            Layer::NullAndEmptyList => RepDefLayer::RepdefNullAndEmptyList,
        };
        layer as i32
    }

    /// Whether the layer is a list.
    pub fn is_list(self) -> bool {
        !matches!(self, Layer::AllValidItem | Layer::NullableItem)
    }

    /// The list layer kind for the given possibilities.
    pub fn list(has_nulls: bool, has_empties: bool) -> Layer {
        match (has_nulls, has_empties) {
            (false, false) => Layer::AllValidList,
            (true, false) => Layer::NullableList,
            (false, true) => Layer::EmptyableList,
            (true, true) => Layer::NullAndEmptyList,
        }
    }

    /// The item layer kind for the given possibility.
    pub fn item(has_nulls: bool) -> Layer {
        if has_nulls {
            Layer::NullableItem
        } else {
            Layer::AllValidItem
        }
    }
}

/// The definition codes of one layer (0 when the layer cannot be null or empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Codes {
    /// The code of a null at this layer.
    pub null: u16,
    /// The code of an empty list at this layer.
    pub empty: u16,
    /// The smallest code of this layer or any layer outside it: entries with a definition
    /// level below it are valid (and non-empty) at this layer.
    pub first: u16,
}

/// The definition codes of every layer (innermost first) and the depth of every list layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerCodes {
    /// Codes per layer.
    pub codes: Vec<Codes>,
    /// Repetition depth of each layer (list layers only; 0 for items).
    pub depths: Vec<u16>,
    /// The number of list layers (the repetition level of a new top-level row).
    pub max_rep: u16,
    /// The largest definition code in use.
    pub max_def: u16,
    /// For each definition code, the index of the layer that owns it (index 0 unused).
    pub owner: Vec<usize>,
}

impl LayerCodes {
    /// Numbers the codes and depths of `layers` (innermost first).
    pub fn new(layers: &[Layer]) -> Result<Self> {
        let mut codes = Vec::with_capacity(layers.len());
        let mut next: u32 = 1;
        for layer in layers {
            let (null, empty) = match layer {
                Layer::AllValidItem | Layer::AllValidList => (0, 0),
                Layer::NullableItem | Layer::NullableList => (next, 0),
                Layer::EmptyableList => (0, next),
                Layer::NullAndEmptyList => (next, next + 1),
            };
            let used = u32::from(null != 0) + u32::from(empty != 0);
            let first = next;
            next += used;
            let (null, empty, first) = (to_u16(null)?, to_u16(empty)?, to_u16(first)?);
            codes.push(Codes { null, empty, first });
        }
        let max_def = to_u16(next - 1)?;
        let list_count = layers.iter().filter(|l| l.is_list()).count();
        let max_rep = to_u16(list_count as u32)?;
        // The innermost list has depth 1, the outermost max_rep.
        let mut depth = 0u16;
        let depths = layers
            .iter()
            .map(|layer| {
                if layer.is_list() {
                    depth += 1;
                    depth
                } else {
                    0
                }
            })
            .collect();
        // `first` must be "smallest code at this layer or outside"; layers with no codes get
        // the next code outside them, which is what `first` holds already.
        let mut owner = vec![0; usize::from(max_def) + 1];
        for (index, c) in codes.iter().enumerate() {
            for code in [c.null, c.empty] {
                if let Some(slot) = owner.get_mut(usize::from(code)).filter(|_| code != 0) {
                    *slot = index;
                }
            }
        }
        Ok(Self {
            codes,
            depths,
            max_rep,
            max_def,
            owner,
        })
    }
}

fn to_u16(value: u32) -> Result<u16> {
    u16::try_from(value).map_err(|_| Error::corrupt("too many rep/def levels"))
}

/// The levels and values of one leaf column for a run of top-level rows.
#[derive(Clone, Debug)]
pub struct LeafLevels {
    /// The layers, innermost first.
    pub layers: Vec<Layer>,
    /// Repetition level per entry (`None`: no list layers).
    pub rep: Option<Vec<u16>>,
    /// Definition level per entry (`None`: nothing can be null or empty).
    pub def: Option<Vec<u16>>,
    /// The values of the entries that carry one, in entry order.
    pub values: ArrayRef,
    /// The number of entries.
    pub num_entries: usize,
}

impl LeafLevels {
    /// Joins the levels of consecutive runs of rows (for example from several pages).
    ///
    /// Pages of one column describe the same nesting but may differ in what they can hold
    /// (one page has nulls, the next has none), so each run's definition codes are renumbered
    /// onto the union of the layer kinds.
    pub fn concat(parts: Vec<LeafLevels>) -> Result<LeafLevels> {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Err(Error::internal("no levels to join"));
        };
        let rest: Vec<LeafLevels> = parts.collect();
        if rest.is_empty() {
            return Ok(first);
        }
        let all: Vec<&LeafLevels> = std::iter::once(&first).chain(rest.iter()).collect();
        let depth = first.layers.len();
        if all.iter().any(|p| p.layers.len() != depth) {
            return Err(Error::corrupt(
                "pages of one column have different nesting depths",
            ));
        }
        let layers: Vec<Layer> = (0..depth)
            .map(|i| union_layer(all.iter().map(|p| p.layers[i])))
            .collect::<Result<_>>()?;
        let target = LayerCodes::new(&layers)?;
        let num_entries = all.iter().map(|p| p.num_entries).sum();
        let has_rep = target.max_rep > 0;
        let has_def = target.max_def > 0;
        let mut rep = Vec::with_capacity(if has_rep { num_entries } else { 0 });
        let mut def = Vec::with_capacity(if has_def { num_entries } else { 0 });
        for part in &all {
            if has_rep {
                match &part.rep {
                    Some(r) => rep.extend_from_slice(r),
                    None => return Err(Error::corrupt("a list page has no repetition levels")),
                }
            }
            if has_def {
                let map = def_mapping(&part.layers, &target)?;
                match &part.def {
                    Some(d) => {
                        for &code in d {
                            let mapped = map.get(usize::from(code)).copied().ok_or_else(|| {
                                Error::corrupt(format!("definition level {code} is out of range"))
                            })?;
                            def.push(mapped);
                        }
                    }
                    None => def.extend(std::iter::repeat_n(0, part.num_entries)),
                }
            }
        }
        let values: Vec<&dyn Array> = all.iter().map(|p| p.values.as_ref()).collect();
        let values = arrow_select::concat::concat(&values)?;
        Ok(LeafLevels {
            layers,
            rep: has_rep.then_some(rep),
            def: has_def.then_some(def),
            values,
            num_entries,
        })
    }
}

/// The layer kind that can hold everything the given kinds can.
fn union_layer(kinds: impl Iterator<Item = Layer>) -> Result<Layer> {
    let (mut list, mut item, mut nulls, mut empties) = (false, false, false, false);
    for kind in kinds {
        match kind {
            Layer::AllValidItem => item = true,
            Layer::NullableItem => (item, nulls) = (true, true),
            Layer::AllValidList => list = true,
            Layer::NullableList => (list, nulls) = (true, true),
            Layer::EmptyableList => (list, empties) = (true, true),
            Layer::NullAndEmptyList => (list, nulls, empties) = (true, true, true),
        }
    }
    match (list, item) {
        (true, true) => Err(Error::corrupt(
            "pages disagree on whether a layer is a list",
        )),
        (true, false) => Ok(Layer::list(nulls, empties)),
        _ => Ok(Layer::item(nulls)),
    }
}

/// Maps each definition code of `layers` to the same meaning under `target`.
fn def_mapping(layers: &[Layer], target: &LayerCodes) -> Result<Vec<u16>> {
    let own = LayerCodes::new(layers)?;
    let mut map = vec![0u16; usize::from(own.max_def) + 1];
    for (index, codes) in own.codes.iter().enumerate() {
        let target_codes = target.codes[index];
        if codes.null != 0 {
            map[usize::from(codes.null)] = target_codes.null;
        }
        if codes.empty != 0 {
            map[usize::from(codes.empty)] = target_codes.empty;
        }
    }
    Ok(map)
}

/// The nested path from a top-level field down to one leaf.
#[derive(Clone, Debug)]
enum Step {
    /// A struct: descend into child `index`.
    Struct { index: usize },
    /// A list or large list (maps are lists of entry structs).
    List,
}

/// Shreds `array` (of a top-level field) into one [`LeafLevels`] per leaf, in pre-order.
///
/// Leaves are primitive, string, binary, fixed-size list of primitive and dictionary arrays.
/// The layers record whether each level actually has nulls or empty lists in `array`.
pub fn shred(field: &Field, array: &ArrayRef) -> Result<Vec<LeafLevels>> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    collect_leaves(field, &mut path, &mut |leaf_path| {
        out.push(shred_leaf(array, leaf_path));
    });
    out.into_iter().collect()
}

fn collect_leaves(field: &Field, path: &mut Vec<Step>, emit: &mut dyn FnMut(&[Step])) {
    match structural_children(field) {
        None => emit(path),
        Some(children) => {
            let is_struct = matches!(field.data_type(), DataType::Struct(_));
            for (index, child) in children.into_iter().enumerate() {
                path.push(if is_struct {
                    Step::Struct { index }
                } else {
                    Step::List
                });
                collect_leaves(child, path, emit);
                path.pop();
            }
        }
    }
}

/// One entry while shredding: the index into the array at the current depth (`None` once the
/// entry is null or empty at some layer), and its levels so far.
#[derive(Clone, Copy)]
struct Slot {
    index: Option<usize>,
    rep: u16,
    /// Which layer (counted from the outermost, 0-based) made the entry null/empty, and how.
    dead: Option<(usize, Death)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Death {
    Null,
    Empty,
}

fn shred_leaf(top: &ArrayRef, path: &[Step]) -> Result<LeafLevels> {
    if path.is_empty() {
        return shred_flat(top);
    }
    // Walk from the top down, expanding list elements into slots.
    let rows = top.len();
    let list_layers = path.iter().filter(|s| matches!(s, Step::List)).count();
    let max_rep = to_u16(list_layers as u32)?;
    let mut slots: Vec<Slot> = (0..rows)
        .map(|i| Slot {
            index: Some(i),
            rep: max_rep,
            dead: None,
        })
        .collect();
    // Layers from the outermost; converted to innermost-first at the end.
    let mut layers_outer_first: Vec<Layer> = Vec::with_capacity(path.len() + 1);
    let mut current = top.clone();
    let mut depth = max_rep;
    for (layer_index, step) in path.iter().enumerate() {
        match step {
            Step::Struct { index } => {
                let structs = current.as_struct();
                let has_nulls = mark_nulls(&mut slots, structs.nulls(), layer_index);
                layers_outer_first.push(Layer::item(has_nulls));
                current = structs.column(*index).clone();
            }
            Step::List => {
                let (offsets, nulls, values) = list_parts(&current)?;
                let mut has_nulls = false;
                let mut has_empties = false;
                let mut next = Vec::with_capacity(slots.len());
                for slot in &slots {
                    // Entries already null above (a null struct) have no list here and, below
                    // a list, carry no value.
                    let Some(index) = slot.index.filter(|_| slot.dead.is_none()) else {
                        next.push(Slot {
                            index: None,
                            ..*slot
                        });
                        continue;
                    };
                    if nulls.as_ref().is_some_and(|n| n.is_null(index)) {
                        has_nulls = true;
                        next.push(Slot {
                            index: None,
                            dead: Some((layer_index, Death::Null)),
                            ..*slot
                        });
                        continue;
                    }
                    let (start, end) = (offsets[index], offsets[index + 1]);
                    if start == end {
                        has_empties = true;
                        next.push(Slot {
                            index: None,
                            dead: Some((layer_index, Death::Empty)),
                            ..*slot
                        });
                        continue;
                    }
                    // The first element continues whatever the list's slot started; later ones
                    // start only the lists inside this one (depth - 1; 0 at the innermost).
                    for (k, child) in (start..end).enumerate() {
                        next.push(Slot {
                            index: Some(child),
                            rep: if k == 0 { slot.rep } else { depth - 1 },
                            dead: None,
                        });
                    }
                }
                layers_outer_first.push(Layer::list(has_nulls, has_empties));
                slots = next;
                current = values;
                depth -= 1;
            }
        }
    }
    // The leaf's own item layer.
    let leaf_layer_index = path.len();
    let has_nulls = mark_nulls(
        &mut slots,
        current.logical_nulls().as_ref(),
        leaf_layer_index,
    );
    layers_outer_first.push(Layer::item(has_nulls));

    let layers: Vec<Layer> = layers_outer_first.iter().rev().copied().collect();
    let codes = LayerCodes::new(&layers)?;
    let layer_count = layers.len();
    // Definition codes: layer counted from the outside `o` is innermost-first `count-1-o`.
    let def: Vec<u16> = slots
        .iter()
        .map(|slot| match slot.dead {
            None => 0,
            Some((outer_index, death)) => {
                let c = codes.codes[layer_count - 1 - outer_index];
                match death {
                    Death::Null => c.null,
                    Death::Empty => c.empty,
                }
            }
        })
        .collect();
    let rep: Vec<u16> = slots.iter().map(|s| s.rep).collect();
    // Values: every entry that still has an index (null leaves and entries under null structs
    // keep a value slot; null and empty lists do not).
    let indices: Vec<u32> = slots
        .iter()
        .filter_map(|s| s.index.map(|i| i as u32))
        .collect();
    let values = gather(&current, &indices)?;
    let any_def = def.iter().any(|&d| d != 0) || codes.max_def > 0;
    Ok(LeafLevels {
        num_entries: slots.len(),
        rep: (max_rep > 0).then_some(rep),
        def: any_def.then_some(def),
        values,
        layers,
    })
}

/// A column without lists or structs: one entry per row, its values as they are, and
/// definition levels only where a value is null (what the general walk yields, without
/// building a slot per row).
fn shred_flat(array: &ArrayRef) -> Result<LeafLevels> {
    let nulls = array.logical_nulls().filter(|n| n.null_count() > 0);
    let layers = vec![Layer::item(nulls.is_some())];
    let codes = LayerCodes::new(&layers)?;
    let null_code = codes.codes[0].null;
    let def = nulls.map(|nulls| {
        nulls
            .iter()
            .map(|valid| if valid { 0 } else { null_code })
            .collect()
    });
    Ok(LeafLevels {
        num_entries: array.len(),
        rep: None,
        def,
        values: array.clone(),
        layers,
    })
}

/// Marks slots whose item is null at this layer; returns whether any was.
fn mark_nulls(slots: &mut [Slot], nulls: Option<&NullBuffer>, layer_index: usize) -> bool {
    let Some(nulls) = nulls else {
        return false;
    };
    let mut any = false;
    for slot in slots.iter_mut() {
        if let Some(index) = slot.index
            && nulls.is_null(index)
        {
            any = true;
            // The entry keeps its index: items under a null struct still occupy a value slot.
            // Only the definition level records the null.
            if slot.dead.is_none() {
                slot.dead = Some((layer_index, Death::Null));
            }
        }
    }
    any
}

/// Offsets (as usize), validity and values of a list, large list or map array.
fn list_parts(array: &ArrayRef) -> Result<(Vec<usize>, Option<NullBuffer>, ArrayRef)> {
    fn parts<O: OffsetSizeTrait>(
        list: &GenericListArray<O>,
    ) -> (Vec<usize>, Option<NullBuffer>, ArrayRef) {
        let offsets = list.value_offsets().iter().map(|o| o.as_usize()).collect();
        (offsets, list.nulls().cloned(), list.values().clone())
    }
    match array.data_type() {
        DataType::List(_) => Ok(parts(array.as_list::<i32>())),
        DataType::LargeList(_) => Ok(parts(array.as_list::<i64>())),
        DataType::Map(_, _) => {
            let map = array.as_map();
            let offsets = map.value_offsets().iter().map(|&o| o as usize).collect();
            Ok((
                offsets,
                map.nulls().cloned(),
                Arc::new(map.entries().clone()),
            ))
        }
        other => Err(Error::internal(format!("{other} is not a list"))),
    }
}

/// The values at `indices`, without copying when they are one contiguous run.
fn gather(values: &ArrayRef, indices: &[u32]) -> Result<ArrayRef> {
    let contiguous = indices.windows(2).all(|w| w[1] == w[0] + 1);
    match indices.first() {
        None => Ok(values.slice(0, 0)),
        Some(&first) if contiguous => Ok(values.slice(first as usize, indices.len())),
        Some(_) => Ok(arrow_select::take::take(
            values.as_ref(),
            &UInt32Array::from(indices.to_vec()),
            None,
        )?),
    }
}

/// Rebuilds Arrow arrays from leaf levels, one layer at a time from the innermost.
///
/// Each leaf starts as its values, one slot per entry that carries a value. Applying an item
/// layer adds validity; applying a list layer groups slots into lists, leaving one slot per
/// list. Structs combine the arrays of their children once every child has been brought up to
/// the struct's layer.
pub struct Assembler;

/// A partly assembled leaf: the array so far and, per slot, its entry index.
pub struct Partial {
    /// The array of the current layer, one value per slot.
    pub array: ArrayRef,
    /// The entry each slot stands for.
    slots: Vec<u32>,
    /// The index of the next layer to apply (innermost first).
    next_layer: usize,
    levels: Arc<LeafLevels>,
    codes: Arc<LayerCodes>,
}

impl Partial {
    /// Starts assembling a leaf from its levels and values; `array_type` is the leaf's Arrow
    /// type (used for null padding).
    pub fn new(levels: LeafLevels) -> Result<Self> {
        let codes = LayerCodes::new(&levels.layers)?;
        let def = levels.def.as_deref();
        // Entries that carry a value: valid or null *items*; null and empty lists carry none.
        let innermost_list = levels
            .layers
            .iter()
            .position(|l| l.is_list())
            .map(|i| codes.codes[i].first);
        let slots: Vec<u32> = (0..levels.num_entries as u32)
            .filter(|&e| match (def, innermost_list) {
                (Some(def), Some(limit)) => def.get(e as usize).is_some_and(|&d| d < limit),
                _ => true,
            })
            .collect();
        if slots.len() != levels.values.len() {
            return Err(Error::corrupt(format!(
                "{} entries carry values but {} values were decoded",
                slots.len(),
                levels.values.len()
            )));
        }
        Ok(Self {
            array: levels.values.clone(),
            slots,
            next_layer: 0,
            levels: Arc::new(levels),
            codes: Arc::new(codes),
        })
    }

    fn def(&self, entry: u32) -> u16 {
        self.levels
            .def
            .as_ref()
            .and_then(|d| d.get(entry as usize).copied())
            .unwrap_or(0)
    }

    fn layer(&self) -> Result<(Layer, Codes, u16)> {
        let index = self.next_layer;
        match (
            self.levels.layers.get(index),
            self.codes.codes.get(index),
            self.codes.depths.get(index),
        ) {
            (Some(&layer), Some(&codes), Some(&depth)) => Ok((layer, codes, depth)),
            _ => Err(Error::corrupt(format!(
                "the field is nested deeper than the page's {} rep/def layers",
                self.levels.layers.len()
            ))),
        }
    }

    /// The validity of the current slots at an item layer: a slot is null when it is null at
    /// this layer or at an enclosing item layer (its definition level is this layer's first
    /// code or above). `None` when every slot is valid.
    fn item_validity(&self, codes: Codes) -> Option<NullBuffer> {
        if !self.slots.iter().any(|&e| self.def(e) >= codes.first) {
            return None;
        }
        let valid: BooleanBuffer = self
            .slots
            .iter()
            .map(|&e| self.def(e) < codes.first)
            .collect();
        Some(NullBuffer::new(valid))
    }

    /// Applies the leaf's own item layer (validity of the values).
    pub fn apply_leaf(mut self) -> Result<Self> {
        let (layer, codes, _) = self.layer()?;
        if layer.is_list() {
            return Err(Error::corrupt(
                "the innermost rep/def layer of a leaf is a list",
            ));
        }
        // Null-typed arrays are all null already and cannot carry a validity bitmap.
        if let Some(nulls) = self
            .item_validity(codes)
            .filter(|_| !matches!(self.array.data_type(), DataType::Null))
        {
            self.array = arrow_array::make_array(attach_nulls(self.array.to_data(), Some(nulls))?);
        }
        self.next_layer += 1;
        Ok(self)
    }

    /// Applies a struct's item layer to this (first) child and builds the struct from
    /// `children` (all brought up to the struct's layer, this one first).
    pub fn apply_struct(mut self, fields: Fields, children: Vec<ArrayRef>) -> Result<Self> {
        let (layer, codes, _) = self.layer()?;
        if layer.is_list() {
            return Err(Error::corrupt("a struct's rep/def layer is a list"));
        }
        let nulls = self.item_validity(codes);
        let len = self.slots.len();
        if children.iter().any(|c| c.len() != len) {
            return Err(Error::corrupt("struct children have different lengths"));
        }
        self.array = if fields.is_empty() {
            Arc::new(StructArray::new_empty_fields(len, nulls))
        } else {
            Arc::new(StructArray::try_new(fields, children, nulls)?)
        };
        self.next_layer += 1;
        Ok(self)
    }

    /// Skips a struct layer for a child other than the first (the first builds the struct).
    pub fn skip_layer(mut self) -> Self {
        self.next_layer += 1;
        self
    }

    /// Applies a list layer: groups the slots into lists.
    pub fn apply_list(
        mut self,
        item_field: FieldRef,
        large: bool,
        map_sorted: Option<bool>,
    ) -> Result<Self> {
        let (layer, codes, depth) = self.layer()?;
        if !layer.is_list() {
            return Err(Error::corrupt("a list's rep/def layer is not a list layer"));
        }
        let rep =
            self.levels.rep.as_ref().ok_or_else(|| {
                Error::corrupt("a page with list layers has no repetition levels")
            })?;
        // Entries inside lists of this layer have a definition level below `outside`.
        let outside = codes.first + u16::from(codes.null != 0) + u16::from(codes.empty != 0);
        let layer_index = self.next_layer;
        let next_list = self
            .levels
            .layers
            .iter()
            .enumerate()
            .skip(layer_index + 1)
            .find(|(_, l)| l.is_list())
            .map_or(usize::MAX, |(i, _)| i);
        let mut offsets: Vec<usize> = Vec::with_capacity(self.slots.len() / 2 + 1);
        let mut validity: Vec<bool> = Vec::new();
        let mut starts: Vec<u32> = Vec::new();
        let mut next_slot = 0usize;
        let mut count = 0usize;
        for entry in 0..self.levels.num_entries as u32 {
            let d = self.def(entry);
            let r = rep.get(entry as usize).copied().unwrap_or(0);
            if d >= outside {
                // Null or empty at an outer layer. A null struct with no list between it and
                // this layer still needs a slot here (a null list without items).
                let owner = self
                    .codes
                    .owner
                    .get(usize::from(d))
                    .copied()
                    .unwrap_or(usize::MAX);
                let owned_by_item = self.levels.layers.get(owner).is_some_and(|l| !l.is_list());
                if owned_by_item && owner < next_list && r >= depth {
                    offsets.push(count);
                    validity.push(false);
                    starts.push(entry);
                }
                continue;
            }
            if r >= depth {
                offsets.push(count);
                validity.push(!(codes.null != 0 && d == codes.null));
                starts.push(entry);
            } else if offsets.is_empty() {
                return Err(Error::corrupt("a list continues before any list started"));
            }
            if self.slots.get(next_slot) == Some(&entry) {
                count += 1;
                next_slot += 1;
            }
        }
        offsets.push(count);
        if next_slot != self.slots.len() {
            return Err(Error::corrupt("list levels do not account for every value"));
        }
        let any_null = validity.iter().any(|v| !v);
        let nulls = any_null.then(|| NullBuffer::from(validity));
        self.array = build_list(
            item_field,
            large,
            map_sorted,
            &offsets,
            self.array.clone(),
            nulls,
        )?;
        self.slots = starts;
        self.next_layer += 1;
        Ok(self)
    }

    /// Checks that every layer was applied and returns the array.
    pub fn finish(self) -> Result<ArrayRef> {
        if self.next_layer != self.levels.layers.len() {
            return Err(Error::corrupt(format!(
                "the page has {} rep/def layers but the field uses {}",
                self.levels.layers.len(),
                self.next_layer
            )));
        }
        Ok(self.array)
    }
}

fn build_list(
    item_field: FieldRef,
    large: bool,
    map_sorted: Option<bool>,
    offsets: &[usize],
    values: ArrayRef,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    if let Some(sorted) = map_sorted {
        let offsets: Vec<i32> = offsets
            .iter()
            .map(|&o| i32::try_from(o).map_err(|_| Error::not_supported("map too large")))
            .collect::<Result<_>>()?;
        let entries = values.as_struct().clone();
        return Ok(Arc::new(arrow_array::MapArray::try_new(
            item_field,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            entries,
            nulls,
            sorted,
        )?));
    }
    if large {
        let offsets: Vec<i64> = offsets.iter().map(|&o| o as i64).collect();
        Ok(Arc::new(GenericListArray::<i64>::try_new(
            item_field,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values,
            nulls,
        )?))
    } else {
        let offsets: Vec<i32> = offsets
            .iter()
            .map(|&o| {
                i32::try_from(o)
                    .map_err(|_| Error::not_supported("list too large for 32-bit offsets"))
            })
            .collect::<Result<_>>()?;
        Ok(Arc::new(GenericListArray::<i32>::try_new(
            item_field,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values,
            nulls,
        )?))
    }
}

/// Reassembles a top-level field from the levels of its leaves (in pre-order).
pub fn assemble(field: &Field, leaves: Vec<LeafLevels>) -> Result<ArrayRef> {
    // A flat leaf without rep/def levels (no nulls, no lists): its values are the array.
    if let [leaf] = leaves.as_slice()
        && structural_children(field).is_none()
        && leaf.rep.is_none()
        && leaf.def.is_none()
        && leaf.layers.len() == 1
        && leaf.layers.iter().all(|l| !l.is_list())
    {
        if leaf.values.len() != leaf.num_entries {
            return Err(Error::corrupt(format!(
                "{} entries carry values but {} values were decoded",
                leaf.num_entries,
                leaf.values.len()
            )));
        }
        return Ok(leaf.values.clone());
    }
    let mut leaves = leaves.into_iter();
    let partial = assemble_node(field, &mut leaves)?;
    if leaves.next().is_some() {
        return Err(Error::corrupt(
            "more leaf columns than the field has leaves",
        ));
    }
    partial.finish()
}

fn assemble_node(field: &Field, leaves: &mut impl Iterator<Item = LeafLevels>) -> Result<Partial> {
    let data_type = field.data_type();
    let leaf = structural_children(field).is_none();
    match data_type {
        DataType::Struct(fields) if !leaf => {
            let mut children = Vec::with_capacity(fields.len());
            for child in fields.iter() {
                children.push(assemble_node(child, leaves)?);
            }
            let arrays: Vec<ArrayRef> = children.iter().map(|c| c.array.clone()).collect();
            let mut children = children.into_iter();
            let first = children
                .next()
                .ok_or_else(|| Error::internal("struct without children"))?;
            first.apply_struct(fields.clone(), arrays)
        }
        DataType::List(item) | DataType::LargeList(item) => {
            let child = assemble_node(item, leaves)?;
            child.apply_list(
                item.clone(),
                matches!(data_type, DataType::LargeList(_)),
                None,
            )
        }
        DataType::Map(entries, sorted) => {
            let child = assemble_node(entries, leaves)?;
            child.apply_list(entries.clone(), false, Some(*sorted))
        }
        _ => {
            let leaf = leaves
                .next()
                .ok_or_else(|| Error::corrupt("fewer leaf columns than the field has leaves"))?;
            Partial::new(leaf)?.apply_leaf()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use arrow_array::builder::{Int64Builder, ListBuilder};

    fn list_example() -> ArrayRef {
        let mut builder = ListBuilder::new(Int64Builder::new());
        builder.append_value([Some(1), None]);
        builder.append_null();
        builder.append_value([]);
        builder.append_value([Some(4)]);
        Arc::new(builder.finish())
    }

    #[test]
    fn shreds_the_documented_example() {
        let array = list_example();
        let field = Field::new("l", array.data_type().clone(), true);
        let levels = shred(&field, &array).unwrap();
        assert_eq!(levels.len(), 1);
        let leaf = &levels[0];
        assert_eq!(
            leaf.layers,
            vec![Layer::NullableItem, Layer::NullAndEmptyList]
        );
        assert_eq!(leaf.rep.as_deref(), Some(&[1, 0, 1, 1, 1][..]));
        assert_eq!(leaf.def.as_deref(), Some(&[0, 1, 2, 3, 0][..]));
        let values = leaf.values.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(
            values.iter().collect::<Vec<_>>(),
            vec![Some(1), None, Some(4)]
        );
    }

    #[test]
    fn joins_pages_with_different_layer_kinds() {
        // Page 1 has no nulls at all; page 2 has a null list and a null item.
        let mut builder = ListBuilder::new(Int64Builder::new());
        builder.append_value([Some(7), Some(8)]);
        let first: ArrayRef = Arc::new(builder.finish());
        let second = list_example();
        let field = Field::new("l", second.data_type().clone(), true);
        let mut parts = shred(&field, &first).unwrap();
        parts.extend(shred(&field, &second).unwrap());
        assert_eq!(
            parts[0].layers,
            vec![Layer::AllValidItem, Layer::AllValidList]
        );
        let joined = LeafLevels::concat(parts).unwrap();
        assert_eq!(
            joined.layers,
            vec![Layer::NullableItem, Layer::NullAndEmptyList]
        );
        assert_eq!(joined.def.as_deref(), Some(&[0, 0, 0, 1, 2, 3, 0][..]));
        let back = assemble(&field, vec![joined]).unwrap();
        let expected = arrow_select::concat::concat(&[first.as_ref(), second.as_ref()]).unwrap();
        assert_eq!(back.to_data(), expected.to_data());
    }

    #[test]
    fn assembles_what_it_shreds() {
        let array = list_example();
        let field = Field::new("l", array.data_type().clone(), true);
        let back = assemble(&field, shred(&field, &array).unwrap()).unwrap();
        assert_eq!(back.to_data(), array.to_data());
    }
}
