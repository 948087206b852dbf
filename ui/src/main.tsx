// Entry point of the production bundle (index.html). Talks to the real backend through ./ipc.
import { render } from "preact";

import { App } from "./app";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App />, root);
