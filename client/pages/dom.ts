/** Small DOM helpers shared by the page controllers. Elements are found by data attributes. */

/** The element matching `selector` inside `root`; a missing one is a bug in the view, so say which. */
export function $<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`Heirloom page is missing ${selector}`);
  return el;
}

export function $$<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T[] {
  return Array.from(root.querySelectorAll<T>(selector));
}

export function show(el: Element, visible = true): void {
  if (visible) el.removeAttribute('hidden');
  else el.setAttribute('hidden', '');
}

export function hide(el: Element): void {
  show(el, false);
}

/** Shows `message` in an error area (role=alert), or hides the area when message is null. */
export function setMessage(el: HTMLElement, message: string | null): void {
  el.textContent = message ?? '';
  show(el, Boolean(message));
}

/** Marks a form busy: buttons and inputs disabled, its busy indicator shown. */
export function setBusy(form: HTMLFormElement, busyEl: HTMLElement | null, busy: boolean): void {
  form.toggleAttribute('aria-busy', busy);
  for (const el of form.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')) {
    el.disabled = busy;
  }
  if (busyEl) show(busyEl, busy);
}

export function markInvalid(input: HTMLInputElement, invalid: boolean): void {
  if (invalid) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** Lets the browser paint (a busy indicator) before a long synchronous step starts. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/** Offers `url` (a blob URL) to the browser as a file download named `name`. */
export function offerDownload(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}
