// The "Python is waking up" indicator in the header, and the runtime's notices to the reader.
export function showStatus(python) {
  const box = document.getElementById("python-status");
  const text = box.querySelector(".status-text");
  const bar = box.querySelector("progress");
  const notices = document.getElementById("notices");
  const showState = (detail) => {
    box.dataset.state = detail.state;
    if (detail.state === "ready") {
      text.textContent = "Python ready";
      bar.value = 1;
    } else if (detail.state === "failed") {
      text.textContent = detail.stage;
    } else {
      text.textContent = `${detail.stage}…`;
      bar.value = detail.fraction;
    }
  };
  const showNotice = (detail) => {
    notices.textContent = detail.text;
    notices.hidden = false;
  };
  if (python.latest.status) showState(python.latest.status);
  if (python.latest.notice) showNotice(python.latest.notice);
  python.addEventListener("status", ({ detail }) => showState(detail));
  python.addEventListener("notice", ({ detail }) => showNotice(detail));
}
