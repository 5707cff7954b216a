// Geometry of the seat map: where each section's grid sits on the canvas, which seat a point hits,
// and where the keyboard cursor goes. Pure functions, so they are tested without a canvas.
//
// Each section is a block of rows × seats_per_row cells under a label line; blocks flow left to
// right and wrap at the available width, below a stage strip. A seat is drawn in its cell.

export interface SectionShape {
  name: string;
  rows: number;
  seats_per_row: number;
}

export interface Block {
  section: string;
  /** Top-left of the label line. */
  x: number;
  y: number;
  /** Top-left of the seat grid. */
  gridX: number;
  gridY: number;
  rows: number;
  cols: number;
}

export interface Layout {
  cell: number;
  width: number;
  height: number;
  stageHeight: number;
  blocks: Block[];
  bySection: Map<string, Block>;
}

export interface SeatPos {
  section: string;
  row: number; // 1-based, as in the API
  number: number; // 1-based
}

export const LABEL_HEIGHT = 20;
export const BLOCK_GAP = 16;
export const STAGE_HEIGHT = 28;
export const PADDING = 8;

/**
 * The cell size for a width: as large as the widest section allows, within bounds. With all
 * sections shown the map is an overview (6-14 px); with one section the seats are big enough to
 * tap (at least 18 px: on a phone the map then scrolls sideways inside its box).
 */
export function cellSizeFor(width: number, sections: SectionShape[]): number {
  const widest = Math.max(1, ...sections.map((s) => s.seats_per_row));
  const fit = Math.floor((width - 2 * PADDING) / widest);
  const [min, max] = sections.length > 1 ? [6, 14] : [18, 28];
  return Math.max(min, Math.min(max, fit));
}

export function computeLayout(sections: SectionShape[], width: number, cell: number): Layout {
  const blocks: Block[] = [];
  const bySection = new Map<string, Block>();
  let x = PADDING;
  let y = PADDING + STAGE_HEIGHT + BLOCK_GAP;
  let lineHeight = 0;
  let maxRight = 0;
  for (const s of sections) {
    const w = s.seats_per_row * cell;
    const h = LABEL_HEIGHT + s.rows * cell;
    if (x > PADDING && x + w > width - PADDING) {
      x = PADDING;
      y += lineHeight + BLOCK_GAP;
      lineHeight = 0;
    }
    const b: Block = { section: s.name, x, y, gridX: x, gridY: y + LABEL_HEIGHT, rows: s.rows, cols: s.seats_per_row };
    blocks.push(b);
    bySection.set(s.name, b);
    x += w + BLOCK_GAP;
    lineHeight = Math.max(lineHeight, h);
    maxRight = Math.max(maxRight, b.gridX + w);
  }
  const contentWidth = Math.max(width, maxRight + PADDING);
  return {
    cell,
    width: contentWidth,
    height: y + lineHeight + PADDING,
    stageHeight: STAGE_HEIGHT,
    blocks,
    bySection,
  };
}

/** The seat under a point in canvas CSS pixels, or null (between blocks, on a label, outside). */
export function hitTest(layout: Layout, px: number, py: number): SeatPos | null {
  for (const b of layout.blocks) {
    const dx = px - b.gridX;
    const dy = py - b.gridY;
    if (dx < 0 || dy < 0) continue;
    const col = Math.floor(dx / layout.cell);
    const row = Math.floor(dy / layout.cell);
    if (col < b.cols && row < b.rows) return { section: b.section, row: row + 1, number: col + 1 };
  }
  return null;
}

/** The cell of a seat: x, y, size (CSS pixels), or null when its section is not laid out. */
export function seatRect(layout: Layout, pos: SeatPos): { x: number; y: number; size: number } | null {
  const b = layout.bySection.get(pos.section);
  if (!b || pos.row < 1 || pos.number < 1 || pos.row > b.rows || pos.number > b.cols) return null;
  return { x: b.gridX + (pos.number - 1) * layout.cell, y: b.gridY + (pos.row - 1) * layout.cell, size: layout.cell };
}

export function seatKey(section: string, row: number, number: number): string {
  return `${section}\u0000${row}\u0000${number}`;
}

/**
 * Where the keyboard cursor goes: arrows move one seat and stop at the section's edge, Home/End go
 * to the ends of the row, PageUp/PageDown to the previous/next section. Returns null for other keys.
 */
export function moveCursor(layout: Layout, cur: SeatPos | null, key: string): SeatPos | null {
  if (layout.blocks.length === 0) return null;
  const first = layout.blocks[0];
  if (!cur || !layout.bySection.has(cur.section)) {
    const nav = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];
    return nav.includes(key) ? { section: first.section, row: 1, number: 1 } : null;
  }
  const b = layout.bySection.get(cur.section)!;
  const clamp = (v: number, hi: number) => Math.max(1, Math.min(hi, v));
  switch (key) {
    case "ArrowUp":
      return { ...cur, row: clamp(cur.row - 1, b.rows) };
    case "ArrowDown":
      return { ...cur, row: clamp(cur.row + 1, b.rows) };
    case "ArrowLeft":
      return { ...cur, number: clamp(cur.number - 1, b.cols) };
    case "ArrowRight":
      return { ...cur, number: clamp(cur.number + 1, b.cols) };
    case "Home":
      return { ...cur, number: 1 };
    case "End":
      return { ...cur, number: b.cols };
    case "PageUp":
    case "PageDown": {
      const i = layout.blocks.indexOf(b);
      const j = key === "PageUp" ? Math.max(0, i - 1) : Math.min(layout.blocks.length - 1, i + 1);
      const nb = layout.blocks[j];
      return { section: nb.section, row: clamp(cur.row, nb.rows), number: clamp(cur.number, nb.cols) };
    }
    default:
      return null;
  }
}
