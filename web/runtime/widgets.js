// Widgets placed in a chapter by the ::: widget directive. Each is a module exporting
// mount(element, context); context.call(fn, args, kwargs) runs a Python function in the worker.
const registry = {};

export function mountWidgets(root, { page, python, siteRoot }) {
  return [...root.querySelectorAll("[data-widget]")].map((element) => {
    const widget = registry[element.dataset.widget];
    if (!widget) throw new Error(`unknown widget ${element.dataset.widget}`);
    const context = {
      page,
      siteRoot,
      config: JSON.parse(element.dataset.config || "{}"),
      call: (fn, args, kwargs) => python.call(page, fn, args, kwargs),
      python,
    };
    return widget.mount(element, context);
  });
}
