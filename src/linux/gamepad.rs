//! Gamepads and joysticks (feature `gamepad`): every pad, present and
//! hot-plugged, as one async stream of events, with no helper thread, no
//! libudev and no dependency, on any executor.
//!
//! [`Gamepads`] is what most programs need: await it in a loop for
//! `(PadId, Event)`s; query a pad's state between events with
//! [`Gamepads::get`]. [`Pad`] is one device, for programs that find and
//! open devices themselves.
//!
//! ```rust,no_run
//! use pasts::linux::gamepad::{Button, Event, Gamepads};
//!
//! # fn main() -> std::io::Result<()> {
//! pasts::block_on(async {
//!     let mut pads = Gamepads::new()?;
//!     loop {
//!         match (&mut pads).await {
//!             Ok((id, Event::Button(Button::Start, true))) => {
//!                 // Rumble until released; a pad without it says so.
//!                 if let Some(pad) = pads.get(id) {
//!                     if let Err(e) = pad.rumble(0.5, 0.5) {
//!                         println!("{e}");
//!                     }
//!                 }
//!             }
//!             Ok((id, Event::Button(Button::Start, false))) => {
//!                 if let Some(pad) = pads.get(id) {
//!                     pad.rumble(0.0, 0.0).ok();
//!                 }
//!             }
//!             Ok((id, event)) => println!("{id:?}: {event:?}"),
//!             // One device could not be opened (permissions); go on.
//!             Err(e) => println!("{e}"),
//!         }
//!     }
//! })
//! # }
//! ```
//!
//! # What it does
//!
//! - **Which devices.** Only gamepads and joysticks, classified as udev's
//!   `input_id` does (`ID_INPUT_JOYSTICK`) from the capability bitmaps in
//!   sysfs: keyboards, mice, touchpads and accelerometers are never
//!   opened. Without sysfs (some sandboxes) a node is opened and classified
//!   from `EVIOCGBIT` instead, and closed at once if it is not a pad.
//! - **Hotplug.** `/dev/input` is watched with inotify (create, attribute
//!   change, delete). A pad that cannot be opened (`EACCES`: udev has not
//!   fixed its permissions yet, or never will) is one `Err` naming its
//!   path; it is retried on each attribute change of its node, and arrives
//!   with [`Event::Connected`] once it opens. Without `/dev/input` (a
//!   container), [`Gamepads`] has no pads and stays pending (it does not
//!   wait for the directory to appear).
//! - **Events.** Each wake drains every queued kernel event. The events of
//!   one `SYN_REPORT` frame are delivered together and in order; after
//!   `SYN_DROPPED` (the kernel's queue overflowed) the pad's state is read
//!   again (`EVIOCGKEY`, `EVIOCGABS`) and what changed is reported. An
//!   unplugged pad yields [`Event::Disconnected`] once.
//! - **Normalisation.** Each axis from its own `EVIOCGABS` range: sticks
//!   to [-1, 1] with right and up positive and the device's `flat` as a
//!   dead zone (the range outside it is stretched back to [0, 1], so there
//!   is no jump at its edge); triggers to [0, 1]; hats become d-pad buttons.
//!   An axis event is sent only when the normalised value changes.
//! - **Rumble.** [`Pad::rumble`] uploads one force-feedback effect
//!   (`EVIOCSFF`) and plays it until changed; the effect is erased when the
//!   `Pad` drops.
//! - **No idle cost.** Nothing runs while nothing happens: every fd waits
//!   in the [`Device`](crate::linux::Device) reactor; there is no timer and
//!   no thread.

mod classify;
mod decode;
mod hotplug;
mod pad;
mod rumble;

pub use hotplug::Gamepads;
pub use pad::Pad;

use core::sync::atomic::{AtomicU64, Ordering};

use crate::linux::input_sys as input;

/// Identifies one pad while it is plugged in: a pad unplugged and plugged
/// in again gets a new id.
///
/// ```rust
/// use pasts::linux::gamepad::PadId;
///
/// fn same_pad(a: PadId, b: PadId) -> bool {
///     a == b
/// }
/// # let _ = same_pad;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PadId(u64);

impl PadId {
    /// A process-wide unique id.
    pub(crate) fn next() -> PadId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        PadId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A pad's bus and USB-style ids (`EVIOCGID`), e.g. to pick a button
/// layout for a known controller.
///
/// ```rust
/// use pasts::linux::gamepad::InputId;
///
/// fn is_xbox_360(id: InputId) -> bool {
///     (id.vendor, id.product) == (0x045e, 0x028e)
/// }
/// # let _ = is_xbox_360;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InputId {
    /// The bus (`BUS_USB` is 3, `BUS_BLUETOOTH` 5, `BUS_VIRTUAL` 6).
    pub bus: u16,
    /// The vendor id.
    pub vendor: u16,
    /// The product id.
    pub product: u16,
    /// The product version.
    pub version: u16,
}

/// Something that happened on a pad.
///
/// ```rust
/// use pasts::linux::gamepad::{Axis, Button, Event};
///
/// fn describe(event: Event) -> String {
///     match event {
///         Event::Connected => "plugged in".into(),
///         Event::Disconnected => "unplugged".into(),
///         Event::Button(button, true) => format!("{button:?} pressed"),
///         Event::Button(button, false) => format!("{button:?} released"),
///         Event::Axis(Axis::LeftX, x) => format!("left stick x = {x}"),
///         Event::Axis(axis, value) => format!("{axis:?} = {value}"),
///     }
/// }
/// assert_eq!(describe(Event::Button(Button::South, true)), "South pressed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The pad is there: the first event of every pad [`Gamepads`] finds.
    Connected,
    /// The pad was unplugged (or cannot be read any more): its last event.
    Disconnected,
    /// A button was pressed (`true`) or released (`false`).
    Button(Button, bool),
    /// An axis moved to a new normalised value: sticks in [-1, 1] (right
    /// and up positive), triggers in [0, 1].
    Axis(Axis, f32),
}

/// A button, named as in the kernel's gamepad layout
/// (Documentation/input/gamepad.rst): by position, not by label.
///
/// ```rust
/// use pasts::linux::gamepad::Button;
///
/// // An Xbox pad's A is South, a PlayStation pad's cross too.
/// let confirm = Button::South;
/// assert_ne!(confirm, Button::East);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Button {
    /// The bottom face button (`BTN_SOUTH`: A, cross).
    South,
    /// The right face button (`BTN_EAST`: B, circle).
    East,
    /// The top face button (`BTN_NORTH`).
    North,
    /// The left face button (`BTN_WEST`).
    West,
    /// The upper left shoulder button (`BTN_TL`).
    LeftBumper,
    /// The upper right shoulder button (`BTN_TR`).
    RightBumper,
    /// The lower left shoulder button, when digital (`BTN_TL2`).
    LeftTrigger,
    /// The lower right shoulder button, when digital (`BTN_TR2`).
    RightTrigger,
    /// The left menu button (`BTN_SELECT`: back, share).
    Select,
    /// The right menu button (`BTN_START`: options).
    Start,
    /// The logo button (`BTN_MODE`).
    Mode,
    /// Pressing the left stick (`BTN_THUMBL`).
    LeftStick,
    /// Pressing the right stick (`BTN_THUMBR`).
    RightStick,
    /// D-pad up (`BTN_DPAD_UP`, or a hat's up).
    DpadUp,
    /// D-pad down.
    DpadDown,
    /// D-pad left.
    DpadLeft,
    /// D-pad right.
    DpadRight,
    /// Any other key or button, by its kernel code (`BTN_TRIGGER_HAPPY1`
    /// is 0x2c0).
    Other(u16),
}

impl Button {
    /// The button a kernel key code is.
    pub(crate) fn from_code(code: u16) -> Button {
        match code {
            input::BTN_SOUTH => Button::South,
            input::BTN_EAST => Button::East,
            input::BTN_NORTH => Button::North,
            input::BTN_WEST => Button::West,
            input::BTN_TL => Button::LeftBumper,
            input::BTN_TR => Button::RightBumper,
            input::BTN_TL2 => Button::LeftTrigger,
            input::BTN_TR2 => Button::RightTrigger,
            input::BTN_SELECT => Button::Select,
            input::BTN_START => Button::Start,
            input::BTN_MODE => Button::Mode,
            input::BTN_THUMBL => Button::LeftStick,
            input::BTN_THUMBR => Button::RightStick,
            input::BTN_DPAD_UP => Button::DpadUp,
            input::BTN_DPAD_DOWN => Button::DpadDown,
            input::BTN_DPAD_LEFT => Button::DpadLeft,
            input::BTN_DPAD_RIGHT => Button::DpadRight,
            other => Button::Other(other),
        }
    }

    /// The kernel key code of the button.
    pub(crate) fn code(self) -> u16 {
        match self {
            Button::South => input::BTN_SOUTH,
            Button::East => input::BTN_EAST,
            Button::North => input::BTN_NORTH,
            Button::West => input::BTN_WEST,
            Button::LeftBumper => input::BTN_TL,
            Button::RightBumper => input::BTN_TR,
            Button::LeftTrigger => input::BTN_TL2,
            Button::RightTrigger => input::BTN_TR2,
            Button::Select => input::BTN_SELECT,
            Button::Start => input::BTN_START,
            Button::Mode => input::BTN_MODE,
            Button::LeftStick => input::BTN_THUMBL,
            Button::RightStick => input::BTN_THUMBR,
            Button::DpadUp => input::BTN_DPAD_UP,
            Button::DpadDown => input::BTN_DPAD_DOWN,
            Button::DpadLeft => input::BTN_DPAD_LEFT,
            Button::DpadRight => input::BTN_DPAD_RIGHT,
            Button::Other(code) => code,
        }
    }
}

/// An analog axis.
///
/// ```rust
/// use pasts::linux::gamepad::Axis;
///
/// let throttle = Axis::Other(0x06); // ABS_THROTTLE
/// assert_ne!(throttle, Axis::LeftTrigger);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Axis {
    /// Left stick, right positive.
    LeftX,
    /// Left stick, up positive.
    LeftY,
    /// Right stick, right positive.
    RightX,
    /// Right stick, up positive.
    RightY,
    /// Lower left shoulder, 0 released to 1 fully pressed.
    LeftTrigger,
    /// Lower right shoulder, 0 released to 1 fully pressed.
    RightTrigger,
    /// Any other absolute axis, by its kernel code, in [-1, 1] over its
    /// range.
    Other(u16),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_codes_round_trip() {
        for code in 0..=input::KEY_MAX {
            let button = Button::from_code(code);
            assert_eq!(button.code(), code);
        }
        assert_eq!(Button::from_code(0x130), Button::South);
        assert_eq!(Button::from_code(0x2c0), Button::Other(0x2c0));
    }

    #[test]
    fn pad_ids_are_unique() {
        let (a, b) = (PadId::next(), PadId::next());
        assert_ne!(a, b);
    }
}
