import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { session, type Role } from "./session";

const STAFF: Role[] = ["ADMIN", "ANALYST"];
const ALL: Role[] = ["ADMIN", "ANALYST", "AFFILIATE"];

const routes: RouteRecordRaw[] = [
  { path: "/login", component: () => import("./pages/Login.vue"), meta: { public: true, title: "Sign in" } },
  { path: "/apply", component: () => import("./pages/Apply.vue"), meta: { public: true, title: "Join the programme" } },
  { path: "/", component: () => import("./pages/Dashboard.vue"), meta: { roles: ALL, title: "Dashboard" } },
  { path: "/affiliates", component: () => import("./pages/Affiliates.vue"), meta: { roles: STAFF, title: "Affiliates" } },
  { path: "/affiliates/new", component: () => import("./pages/AffiliateForm.vue"), meta: { roles: ["ADMIN"], title: "New affiliate" } },
  { path: "/affiliates/:id", component: () => import("./pages/AffiliateDetail.vue"), meta: { roles: STAFF, title: "Affiliate" } },
  { path: "/affiliates/:id/edit", component: () => import("./pages/AffiliateForm.vue"), meta: { roles: ["ADMIN"], title: "Edit affiliate" } },
  { path: "/campaigns", component: () => import("./pages/Campaigns.vue"), meta: { roles: STAFF, title: "Campaigns" } },
  { path: "/campaigns/new", component: () => import("./pages/CampaignForm.vue"), meta: { roles: ["ADMIN"], title: "New campaign" } },
  { path: "/campaigns/:id", component: () => import("./pages/CampaignDetail.vue"), meta: { roles: STAFF, title: "Campaign" } },
  { path: "/campaigns/:id/edit", component: () => import("./pages/CampaignForm.vue"), meta: { roles: ["ADMIN"], title: "Edit campaign" } },
  { path: "/links", component: () => import("./pages/Links.vue"), meta: { roles: ALL, title: "Tracking links" } },
  { path: "/conversions", component: () => import("./pages/Conversions.vue"), meta: { roles: ALL, title: "Conversions" } },
  { path: "/conversions/:id", component: () => import("./pages/ConversionDetail.vue"), meta: { roles: ALL, title: "Conversion" } },
  { path: "/attribution", component: () => import("./pages/AttributionReport.vue"), meta: { roles: STAFF, title: "Attribution" } },
  { path: "/commissions", component: () => import("./pages/Commissions.vue"), meta: { roles: ALL, title: "Commissions" } },
  { path: "/subscriptions", component: () => import("./pages/Subscriptions.vue"), meta: { roles: ALL, title: "Subscriptions" } },
  { path: "/tiers", component: () => import("./pages/Tiers.vue"), meta: { roles: STAFF, title: "Tiers and bonuses" } },
  { path: "/payouts", component: () => import("./pages/Payouts.vue"), meta: { roles: ALL, title: "Payouts" } },
  { path: "/reconciliation", component: () => import("./pages/Reconciliation.vue"), meta: { roles: STAFF, title: "Reconciliation" } },
  { path: "/orders", component: () => import("./pages/Orders.vue"), meta: { roles: STAFF, title: "Orders" } },
  { path: "/webhooks", component: () => import("./pages/WebhookEvents.vue"), meta: { roles: STAFF, title: "Stripe webhooks" } },
  { path: "/integrations", component: () => import("./pages/Integrations.vue"), meta: { roles: STAFF, title: "Integrations" } },
  { path: "/events", component: () => import("./pages/LiveFeed.vue"), meta: { roles: ALL, title: "Live events" } },
  { path: "/users", component: () => import("./pages/Users.vue"), meta: { roles: ["ADMIN"], title: "Users" } },
  { path: "/api-keys", component: () => import("./pages/ApiKeys.vue"), meta: { roles: ["ADMIN"], title: "API keys" } },
  { path: "/:rest(.*)*", component: () => import("./pages/NotFound.vue"), meta: { roles: ALL, title: "Not found" } },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach((to) => {
  if (to.meta.public) return true;
  if (!session.token) return { path: "/login", query: { next: to.fullPath } };
  const roles = to.meta.roles as Role[] | undefined;
  if (roles && session.role && !roles.includes(session.role)) return { path: "/" };
  return true;
});

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) ?? "Alpes"} · Alpes`;
});
