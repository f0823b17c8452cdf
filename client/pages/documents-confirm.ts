/** A calm "are you sure?" for what cannot be undone, in a <dialog> of the page (no window.confirm). */
import { $ } from './dom.js';

export interface ConfirmText {
  title: string;
  text: string;
  ok: string;
}

export function confirmAction({ title, text, ok }: ConfirmText): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('[data-confirm-dialog]');
  $('[data-confirm-title]', dialog).textContent = title;
  $('[data-confirm-text]', dialog).textContent = text;
  const okButton = $<HTMLButtonElement>('[data-confirm-ok]', dialog);
  const cancelButton = $<HTMLButtonElement>('[data-confirm-cancel]', dialog);
  okButton.textContent = ok;
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      okButton.removeEventListener('click', onOk);
      cancelButton.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    okButton.addEventListener('click', onOk);
    cancelButton.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancelButton.focus(); // the safe choice has the focus
  });
}
