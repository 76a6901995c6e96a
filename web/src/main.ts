import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router";
import { cards } from "./cards";
import "./style.css";

createApp(App).use(router).directive("cards", cards).mount("#app");
