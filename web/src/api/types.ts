// Shapes of the public API's JSON (docs/api.md). Only the fields the UI reads are typed.

export interface Session {
  token: string;
  user_id: string;
  username: string;
  display_name: string;
  role: "user" | "admin" | string;
  expires_in: number;
}

export interface EventSummary {
  event_id: string;
  name: string;
  venue: string;
  starts_at: string;
  sale_starts_at: string;
  on_sale: boolean;
  currency: string;
  min_price: number;
  max_price: number;
  capacity: number;
  available: number;
  general_admission: boolean;
}

export interface SectionDetail {
  name: string;
  price: number;
  rows: number;
  seats_per_row: number;
  capacity: number;
  available: number;
  held: number;
  sold: number;
}

export interface EventDetail extends EventSummary {
  hold_ttl_sec: number;
  admission_rate: number;
  active_buyer_cap: number;
  max_seats_per_reservation: number;
  /** Seats one fan may hold and buy for this event in all; null: no limit. */
  max_tickets_per_user: number | null;
  sections?: SectionDetail[];
  // General-admission events carry their price and stock at the top level.
  price?: number;
}

export type SeatStatus = "AVAILABLE" | "HELD" | "SOLD";

export interface Seat {
  seat_id: string;
  section: string;
  row: number;
  number: number;
  status: SeatStatus;
}

export interface SeatMap {
  event_id: string;
  general_admission: boolean;
  available: number;
  seats: Seat[];
}

export interface QueueJoin {
  waiting_token: string;
  event_id: string;
  status: string;
  position_hint: number | null;
  eta_sec: number;
  client_id?: string;
}

export interface QueueStatus {
  event_id: string;
  /** waiting | ready (admitted: enter) | expired (see reason; join again). */
  status: "waiting" | "ready" | "expired" | string;
  /** Only with "expired": left | abandoned | lapsed | used | token_expired. */
  reason?: string;
  position: number | null;
  eta_sec: number;
  waiting_time: number;
  ready_for_entry: boolean;
  opens_in_sec?: number;
}

export interface QueueEntry {
  admission: "granted";
  reservation_token: string;
  ttl_sec: number;
  event_id: string;
}

export type ReservationStatus = "HOLD" | "CONFIRMED" | "CANCELLED" | "EXPIRED" | string;

export interface Reservation {
  reservation_id: string;
  status: ReservationStatus;
  event_id: string;
  seat_ids: string[];
  quantity: number;
  user_id: string;
  hold_expires_at: string;
  total_amount: number;
  currency: string;
  created_at: string;
  payment_intent_id?: string;
  end_reason?: "cancelled_by_user" | "payment_failed" | "hold_expired" | string;
}

export type PaymentStatus = "PENDING" | "PROCESSING" | "APPROVED" | "FAILED" | string;

export interface PaymentIntent {
  payment_intent_id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  reservation_id: string;
  refund_required: boolean;
}

export type PaymentAction = "approve" | "fail" | "delay";

export interface QueueStats {
  event_id: string;
  open: boolean;
  sale_starts_at: string;
  waiting: number;
  pre_queue: number;
  admitted: number;
  active_buyers: number;
  active_buyer_cap: number;
  admission_rate: number;
  measured_admission_rate: number;
  serving?: number;
  joined?: number;
  abandoned?: number;
  left?: number;
  lapsed?: number;
  finished?: number;
}

export interface SalesPoint {
  minute: string;
  seats: number;
  orders: number;
}

export interface EventStats {
  event_id: string;
  name: string;
  capacity: number;
  free: number;
  held: number;
  sold: number;
  queue: QueueStats;
  reservations: { holds: number; confirmed: number; cancelled: number; expired: number; payment_failed: number };
  payments: { approved: number; failed: number };
  sales: SalesPoint[];
}

export interface NewSection {
  name: string;
  price: number;
  rows: number;
  seats_per_row: number;
}

export interface NewEvent {
  id?: string;
  name: string;
  venue: string;
  starts_at: string;
  sale_starts_at?: string;
  hold_ttl_sec?: number;
  admission_rate?: number;
  active_buyer_cap?: number;
  max_seats_per_reservation?: number;
  max_tickets_per_user?: number;
  currency?: string;
  sections?: NewSection[];
  general_admission?: { quantity: number; price: number };
}
