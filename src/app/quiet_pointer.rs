//! Pointer moves that change nothing on screen do not cost a frame.
//!
//! egui-winit asks for a repaint on every `CursorMoved`. With software GL (VMs,
//! remote desktops) a frame costs tens of milliseconds of CPU, so sweeping the
//! pointer across a notebook kept a core busy while nothing changed.
//! [`QuietPointer`] sits between winit and eframe and holds a move back when
//! egui's hit test would find the same widgets at the new position as at the
//! one egui was last given: hover highlights, cursors and tooltips depend on
//! which widgets are under the pointer, not on where inside them it is. The
//! held move is delivered before any other event of the window, so a click, a
//! key or a frame drawn for another reason always sees the real position.

use std::sync::{Arc, OnceLock};

use egui::{Id, LayerId, Pos2, ViewportId};
use winit::application::ApplicationHandler;
use winit::event::{DeviceEvent, DeviceId, ElementState, StartCause, WindowEvent};
use winit::event_loop::ActiveEventLoop;
use winit::window::WindowId;

/// The egui context of the window, set once the app is created.
pub type SharedContext = Arc<OnceLock<egui::Context>>;

/// Wraps eframe's event handler (see `eframe::create_native`).
pub struct QuietPointer<A> {
    inner: A,
    egui: SharedContext,
    held: Option<(WindowId, WindowEvent)>,
    /// Where egui thinks the pointer is, in points.
    known: Option<Pos2>,
    buttons_down: usize,
}

impl<A> QuietPointer<A> {
    pub fn new(inner: A, egui: SharedContext) -> Self {
        Self {
            inner,
            egui,
            held: None,
            known: None,
            buttons_down: 0,
        }
    }

    /// Whether this move can wait: nothing under the pointer changes.
    fn can_hold(&self, to: Pos2) -> bool {
        let (Some(ctx), Some(from)) = (self.egui.get(), self.known) else {
            return false;
        };
        self.buttons_down == 0 && ctx.dragged_id().is_none() && same_hover(ctx, from, to)
    }
}

impl<A> QuietPointer<A> {
    fn deliver_held<T: 'static>(&mut self, event_loop: &ActiveEventLoop)
    where
        A: ApplicationHandler<T>,
    {
        if let Some((window, event)) = self.held.take() {
            self.deliver::<T>(event_loop, window, event);
        }
    }

    fn deliver<T: 'static>(&mut self, event_loop: &ActiveEventLoop, window: WindowId, event: WindowEvent)
    where
        A: ApplicationHandler<T>,
    {
        if let WindowEvent::CursorMoved { position, .. } = &event {
            self.known = self.egui.get().map(|ctx| to_points(ctx, *position));
        }
        ApplicationHandler::<T>::window_event(&mut self.inner, event_loop, window, event);
    }
}

impl<A: ApplicationHandler<T>, T: 'static> ApplicationHandler<T> for QuietPointer<A> {
    fn window_event(&mut self, event_loop: &ActiveEventLoop, window: WindowId, event: WindowEvent) {
        match &event {
            WindowEvent::CursorMoved { position, .. } => {
                let to = self.egui.get().map(|ctx| to_points(ctx, *position));
                if to.is_some_and(|to| self.can_hold(to)) {
                    self.held = Some((window, event));
                    return;
                }
                self.held = None;
                self.deliver::<T>(event_loop, window, event);
                return;
            }
            WindowEvent::MouseInput { state, .. } => match state {
                ElementState::Pressed => self.buttons_down += 1,
                ElementState::Released => self.buttons_down = self.buttons_down.saturating_sub(1),
            },
            // A release outside the window may never arrive.
            WindowEvent::Focused(false) | WindowEvent::CursorLeft { .. } => self.buttons_down = 0,
            _ => {}
        }
        // X11 sends an axis event with every motion; egui ignores them.
        if !matches!(
            event,
            WindowEvent::AxisMotion { .. } | WindowEvent::TouchpadPressure { .. }
        ) {
            self.deliver_held::<T>(event_loop);
        }
        if matches!(event, WindowEvent::CursorLeft { .. }) {
            self.known = None;
        }
        self.inner.window_event(event_loop, window, event);
    }

    fn new_events(&mut self, event_loop: &ActiveEventLoop, cause: StartCause) {
        self.inner.new_events(event_loop, cause);
    }

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        self.inner.resumed(event_loop);
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: T) {
        self.inner.user_event(event_loop, event);
    }

    fn device_event(&mut self, event_loop: &ActiveEventLoop, device: DeviceId, event: DeviceEvent) {
        self.inner.device_event(event_loop, device, event);
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        self.inner.about_to_wait(event_loop);
    }

    fn suspended(&mut self, event_loop: &ActiveEventLoop) {
        self.inner.suspended(event_loop);
    }

    fn exiting(&mut self, event_loop: &ActiveEventLoop) {
        self.inner.exiting(event_loop);
    }

    fn memory_warning(&mut self, event_loop: &ActiveEventLoop) {
        self.inner.memory_warning(event_loop);
    }
}

/// winit's position is in physical pixels, egui's in points.
fn to_points(ctx: &egui::Context, position: winit::dpi::PhysicalPosition<f64>) -> Pos2 {
    let scale = ctx.pixels_per_point();
    Pos2::new(position.x as f32 / scale, position.y as f32 / scale)
}

/// Whether egui, laid out as in its last pass, has the same widgets under
/// `to` as under `from`, and none that draws itself by where the pointer is
/// inside it.
pub fn same_hover(ctx: &egui::Context, from: Pos2, to: Pos2) -> bool {
    if from == to {
        return true;
    }
    match (under(ctx, from), under(ctx, to)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The top layer and every widget whose hit area holds `pos`, or `None` when
/// one of them is a scroll bar: its handle lights up by the pointer's place
/// along the bar.
fn under(ctx: &egui::Context, pos: Pos2) -> Option<(Option<LayerId>, Vec<Id>)> {
    let style = ctx.global_style();
    // egui's hit test also takes a widget within this distance.
    let radius = style.interaction.interact_radius;
    let scroll = &style.spacing.scroll;
    let bar_width = scroll.bar_inner_margin + scroll.bar_width + scroll.bar_outer_margin + 0.5;
    let layers: Vec<LayerId> = ctx.viewport_for(ViewportId::ROOT, |viewport| {
        viewport.prev_pass.widgets.layer_ids().collect()
    });
    // In each layer's own coordinates (a zoomed or moved area).
    let local: Vec<(LayerId, Pos2)> = layers
        .into_iter()
        .map(|layer| {
            let to_global = ctx.layer_transform_to_global(layer).unwrap_or_default();
            (layer, to_global.inverse() * pos)
        })
        .collect();
    let widgets = ctx.viewport_for(ViewportId::ROOT, |viewport| {
        let mut ids = Vec::new();
        for (layer, pos) in &local {
            for widget in viewport.prev_pass.widgets.get_layer(*layer) {
                let rect = widget.interact_rect;
                if !rect.expand(radius).contains(*pos) {
                    continue;
                }
                let (thin, long) = (rect.width().min(rect.height()), rect.width().max(rect.height()));
                if widget.sense.senses_drag() && thin <= bar_width && long >= 3.0 * thin {
                    return None;
                }
                ids.push(widget.id);
            }
        }
        ids.sort_unstable_by_key(|id| id.value());
        Some(ids)
    })?;
    Some((ctx.layer_id_at(pos), widgets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::{CentralPanel, RawInput, Rect, ScrollArea, Sense, Vec2};

    fn pass(ctx: &egui::Context, mut content: impl FnMut(&mut egui::Ui)) {
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 300.0))),
            ..Default::default()
        };
        let mut output = ctx.run_ui(input, |ui| {
            CentralPanel::default().show(ui, &mut content);
        });
        // No renderer here: the font atlas upload is dropped on purpose.
        output.textures_delta.clear();
    }

    /// A big text area at the top, a button under it, empty space below.
    fn layout(ui: &mut egui::Ui) {
        ui.allocate_response(Vec2::new(300.0, 100.0), Sense::click_and_drag());
        ui.add_space(20.0);
        let _ = ui.button("Evaluate");
    }

    #[test]
    fn moves_inside_one_widget_or_over_empty_space_can_wait() {
        let ctx = egui::Context::default();
        pass(&ctx, layout);
        pass(&ctx, layout);
        // Inside the big area.
        assert!(same_hover(&ctx, Pos2::new(40.0, 40.0), Pos2::new(200.0, 80.0)));
        // Over empty space far below the button.
        assert!(same_hover(&ctx, Pos2::new(40.0, 250.0), Pos2::new(300.0, 280.0)));
    }

    #[test]
    fn moves_onto_or_off_a_widget_are_delivered() {
        let ctx = egui::Context::default();
        pass(&ctx, layout);
        pass(&ctx, layout);
        let area = Pos2::new(40.0, 40.0);
        let button = Pos2::new(30.0, 140.0);
        let empty = Pos2::new(300.0, 280.0);
        assert!(!same_hover(&ctx, area, button));
        assert!(!same_hover(&ctx, button, empty));
        assert!(!same_hover(&ctx, empty, area));
    }

    #[test]
    fn the_last_layout_decides() {
        let ctx = egui::Context::default();
        pass(&ctx, layout);
        let (a, b) = (Pos2::new(30.0, 140.0), Pos2::new(300.0, 280.0));
        // The button moved down to where `b` is: the same move now crosses it.
        pass(&ctx, |ui| {
            ui.add_space(250.0);
            ui.horizontal(|ui| {
                ui.add_space(260.0);
                let _ = ui.button("Evaluate");
            });
        });
        assert!(!same_hover(&ctx, a, b));
    }

    #[test]
    fn every_move_along_a_scroll_bar_is_delivered() {
        let ctx = egui::Context::default();
        let tall = |ui: &mut egui::Ui| {
            ScrollArea::vertical().show(ui, |ui| {
                ui.allocate_space(Vec2::new(300.0, 3000.0));
            });
        };
        for _ in 0..3 {
            pass(&ctx, tall);
        }
        // The floating bar lies along the content's right edge (x 298–308).
        let x = 303.0;
        assert!(!same_hover(&ctx, Pos2::new(x, 50.0), Pos2::new(x, 60.0)));
        // Away from the bar, inside the scrolled content, moves can wait.
        assert!(same_hover(&ctx, Pos2::new(100.0, 50.0), Pos2::new(120.0, 60.0)));
    }
}
