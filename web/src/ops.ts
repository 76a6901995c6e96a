// Every GraphQL operation the app sends; their types are generated from ../schema.graphql.
import { graphql } from "./gql";

export const LoginDoc = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      token
      expiresAt
      user { id email role affiliateId }
    }
  }
`);

export const MeDoc = graphql(`
  query Me {
    me { role affiliateId user { email } affiliate { id code name } }
  }
`);

export const AffiliatesDoc = graphql(`
  query Affiliates($filter: AffiliateFilter, $first: Int, $after: String) {
    affiliates(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes {
        id code name email tier status createdAt
        commissionConfig { baseRate premiumRate minimumPayout currency }
      }
    }
  }
`);

export const AffiliateDoc = graphql(`
  query Affiliate($id: ID!) {
    affiliate(id: $id) {
      id code name email phone tier status createdAt updatedAt
      document { type number }
      bankDetails { bank accountType accountNumber }
      commissionConfig { baseRate premiumRate minimumPayout currency }
      trackingLinks { id code url destinationUrl createdAt campaign { id code name } }
    }
  }
`);

export const CreateAffiliateDoc = graphql(`
  mutation CreateAffiliate($input: CreateAffiliateInput!) {
    createAffiliate(input: $input) { id code }
  }
`);

export const UpdateAffiliateDoc = graphql(`
  mutation UpdateAffiliate($input: UpdateAffiliateInput!) {
    updateAffiliate(input: $input) { id code status }
  }
`);

export const CampaignsDoc = graphql(`
  query Campaigns($filter: CampaignFilter, $first: Int, $after: String) {
    campaigns(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes {
        id code name status currency budget startsAt endsAt attributionModel lookbackDays channels
        commissionConfig { commissionType saleRate conversionRate flatAmount bonusTargets recurringRate recurringMonths recurringLifetime }
      }
    }
  }
`);

export const CampaignDoc = graphql(`
  query Campaign($id: ID!) {
    campaign(id: $id) {
      id code name description status currency budget startsAt endsAt type channels allowedDomains
      attributionModel lookbackDays createdAt updatedAt
      commissionConfig { commissionType saleRate conversionRate flatAmount bonusTargets recurringRate recurringMonths recurringLifetime }
      trackingLinks { id code url destinationUrl createdAt affiliate { id code name } }
    }
  }
`);

export const CreateCampaignDoc = graphql(`
  mutation CreateCampaign($input: CreateCampaignInput!) {
    createCampaign(input: $input) { id code }
  }
`);

export const UpdateCampaignDoc = graphql(`
  mutation UpdateCampaign($input: UpdateCampaignInput!) {
    updateCampaign(input: $input) { id code }
  }
`);

export const ActivateCampaignDoc = graphql(`
  mutation ActivateCampaign($id: ID!) { activateCampaign(id: $id) { id status } }
`);

export const PauseCampaignDoc = graphql(`
  mutation PauseCampaign($id: ID!) { pauseCampaign(id: $id) { id status } }
`);

export const TrackingLinksDoc = graphql(`
  query TrackingLinks($filter: TrackingLinkFilter, $first: Int, $after: String) {
    trackingLinks(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes {
        id code url destinationUrl createdAt
        campaign { id code name }
        affiliate { id code name }
      }
    }
  }
`);

export const CreateTrackingLinkDoc = graphql(`
  mutation CreateTrackingLink($input: CreateTrackingLinkInput!) {
    createTrackingLink(input: $input) { id code url }
  }
`);

export const ConversionsDoc = graphql(`
  query Conversions($filter: ConversionFilter, $first: Int, $after: String) {
    conversions(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes {
        id externalId type value currency channel status fraudScore occurredAt
        campaign { id code name }
        affiliate { id code name }
      }
    }
  }
`);

export const CreditFields = graphql(`
  fragment CreditFields on AttributionCredit {
    position model weight amount currency channel isCurrent
    campaign { id code name }
    affiliate { id code name }
  }
`);

export const ConversionDoc = graphql(`
  query Conversion($id: ID!) {
    conversion(id: $id) {
      id externalId type value currency channel status fraudScore occurredAt createdAt
      userId anonymousId clickInteractionId products
      fraudSignals { code points detail }
      campaign { id code name attributionModel }
      affiliate { id code name }
      journey {
        id status model lookbackDays revertedAt createdAt
        touchpoints {
          position interactionId occurredAt kind channel source medium isClick
          campaign { id code name }
          affiliate { id code name }
        }
        credits { ...CreditFields }
        lastClick: credits(model: LAST_CLICK) { ...CreditFields }
        firstClick: credits(model: FIRST_CLICK) { ...CreditFields }
        linear: credits(model: LINEAR) { ...CreditFields }
        timeDecay: credits(model: TIME_DECAY) { ...CreditFields }
        positionBased: credits(model: POSITION_BASED) { ...CreditFields }
        markov: credits(model: MARKOV) { ...CreditFields }
      }
    }
  }
`);

export const RevertAttributionDoc = graphql(`
  mutation RevertAttribution($journeyId: ID!) {
    revertAttribution(journeyId: $journeyId) { id status revertedAt }
  }
`);

export const ReattributeConversionDoc = graphql(`
  mutation ReattributeConversion($id: ID!, $model: AttributionModel, $affiliateId: ID) {
    reattributeConversion(id: $id, model: $model, affiliateId: $affiliateId) { id status }
  }
`);

export const AttributionReportDoc = graphql(`
  query AttributionReport($model: AttributionModel, $from: DateTime!, $to: DateTime!, $groupBy: AttributionGroupBy!) {
    attributionReport(model: $model, from: $from, to: $to, groupBy: $groupBy) {
      from to groupBy models conversions
      rows { model key name conversions value currency removalEffect }
    }
  }
`);

export const ReconciliationDoc = graphql(`
  query Reconciliation($period: String!) {
    reconciliation(period: $period) {
      from to balanced violations
      currencies {
        currency orders paid refunded net credits credited clawbacks clawedBack
        conversions { status count amount }
        commissions { status count amount base }
        payouts { status count amount }
      }
      checks { code description subject violations examples }
    }
  }
`);

export const OrdersDoc = graphql(`
  query Orders($filter: OrderFilter, $first: Int, $after: String) {
    orders(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes {
        id stripeSessionId paymentIntentId amount refundedAmount currency status gclid fbclid
        source productId attribution createdAt
        campaign { id code name }
        affiliate { id code name }
      }
    }
  }
`);

export const WebhookEventsDoc = graphql(`
  query WebhookEvents($filter: WebhookEventFilter, $first: Int, $after: String) {
    webhookEvents(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes { id type livemode status error attempts receivedAt processedAt payload }
    }
  }
`);

export const ReplayWebhookEventDoc = graphql(`
  mutation ReplayWebhookEvent($id: ID!) {
    replayWebhookEvent(id: $id) { id status error attempts processedAt }
  }
`);

export const UsersDoc = graphql(`
  query Users {
    users { id email role affiliateId isActive lastLoginAt createdAt }
  }
`);

export const SetUserRoleDoc = graphql(`
  mutation SetUserRole($id: ID!, $role: UserRole!, $affiliateId: ID) {
    setUserRole(id: $id, role: $role, affiliateId: $affiliateId) { id role affiliateId }
  }
`);

export const ResetUserPasswordDoc = graphql(`
  mutation ResetUserPassword($id: ID!) {
    resetUserPassword(id: $id) { password user { id email } }
  }
`);

export const SetUserActiveDoc = graphql(`
  mutation SetUserActive($id: ID!, $active: Boolean!) {
    setUserActive(id: $id, active: $active) { id isActive }
  }
`);

export const SignOutEverywhereDoc = graphql(`
  mutation SignOutEverywhere($userId: ID) {
    signOutEverywhere(userId: $userId) { id }
  }
`);

export const LogoutDoc = graphql(`
  mutation Logout {
    logout
  }
`);

export const CreateUserDoc = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) { id email role }
  }
`);

export const EventsDoc = graphql(`
  subscription Events($topics: [String!]) {
    events(topics: $topics) { id seq topic eventType aggregateType aggregateId occurredAt envelope }
  }
`);

export const AffiliateNameDoc = graphql(`
  query AffiliateName($id: ID!) { affiliate(id: $id) { id code name } }
`);

export const CampaignNameDoc = graphql(`
  query CampaignName($id: ID!) { campaign(id: $id) { id code name } }
`);

export const EarningsDoc = graphql(`
  query Earnings($period: String!) {
    commissionReport(period: $period, groupBy: STATUS) { totals { currency count amount approvedAmount paidAmount } }
    me { affiliate { id commissionConfig { minimumPayout currency } } }
  }
`);

export const DashboardDoc = graphql(`
  query Dashboard($period: String!, $currency: String) {
    dashboard(period: $period, currency: $currency) {
      from to currency currencies clicks conversions revenue conversionRate
      leads { leads sales rate }
      commissions { status count amount }
      series { day clicks conversions revenue }
      byCampaign { key name id clicks conversions revenue }
      byChannel { key name clicks conversions revenue }
      byAffiliate { key name id clicks conversions revenue }
    }
  }
`);

export const CommissionsDoc = graphql(`
  query Commissions($filter: CommissionFilter, $first: Int, $after: String) {
    commissions(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      nodes {
        id status type baseAmount rate amount expectedAmount currency isAdjustment createdAt calculatedAt approvedAt paidAt
        rejectionReason cancelReason version conversionId payoutId
        affiliate { id code name }
        campaign { id code name }
      }
    }
  }
`);

export const CalculateCommissionDoc = graphql(`
  mutation CalculateCommission($id: ID!, $force: Boolean!) {
    calculateCommission(id: $id, force: $force) { id status amount }
  }
`);

export const ApproveCommissionDoc = graphql(`
  mutation ApproveCommission($id: ID!, $comments: String) {
    approveCommission(id: $id, comments: $comments) { id status }
  }
`);

export const ApproveCommissionsDoc = graphql(`
  mutation ApproveCommissions($ids: [ID!]!) {
    approveCommissions(ids: $ids) { id status }
  }
`);

export const RejectCommissionDoc = graphql(`
  mutation RejectCommission($id: ID!, $reason: String!) {
    rejectCommission(id: $id, reason: $reason) { id status }
  }
`);

export const PayoutsDoc = graphql(`
  query Payouts($affiliateId: ID, $status: PayoutStatus, $first: Int, $after: String) {
    payouts(affiliateId: $affiliateId, status: $status, first: $first, after: $after) {
      totalCount
      nodes { id amount currency status commissionCount createdAt paidAt reference affiliate { id code name } }
    }
  }
`);

export const CancelPayoutDoc = graphql(`
  mutation CancelPayout($id: ID!, $reason: String) {
    cancelPayout(id: $id, reason: $reason) { id status }
  }
`);

export const CreatePayoutDoc = graphql(`
  mutation CreatePayout($affiliateId: ID!, $currency: String) {
    createPayout(affiliateId: $affiliateId, currency: $currency) { id amount currency commissionCount }
  }
`);

export const MarkPayoutPaidDoc = graphql(`
  mutation MarkPayoutPaid($id: ID!) { markPayoutPaid(id: $id) { id status paidAt } }
`);

export const IntegrationDeliveriesDoc = graphql(`
  query IntegrationDeliveries($filter: IntegrationDeliveryFilter, $first: Int, $after: String) {
    integrationDeliveries(filter: $filter, first: $first, after: $after) {
      totalCount
      nodes { id orderId integration eventKind status attempts maxAttempts nextAttemptAt lastError lastHttpStatus createdAt updatedAt }
    }
  }
`);

export const IntegrationLogDoc = graphql(`
  query IntegrationLog($filter: IntegrationLogFilter, $first: Int, $after: String) {
    integrationLog(filter: $filter, first: $first, after: $after) {
      totalCount
      nodes { id deliveryId integration referenceId status httpStatus latencyMs requestPayload responsePayload errorMessage createdAt }
    }
  }
`);

export const RetryIntegrationDeliveryDoc = graphql(`
  mutation RetryIntegrationDelivery($id: ID!) {
    retryIntegrationDelivery(id: $id) { id status attempts nextAttemptAt }
  }
`);

export const ApiKeysDoc = graphql(`
  query ApiKeys {
    apiKeys { id name prefix role affiliateId scopes status createdAt expiresAt rotatedAt previousSecretExpiresAt lastUsedAt revokedAt }
  }
`);

export const CreateApiKeyDoc = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { secret apiKey { id name prefix } }
  }
`);

export const RotateApiKeyDoc = graphql(`
  mutation RotateApiKey($id: ID!, $graceHours: Int) {
    rotateApiKey(id: $id, graceHours: $graceHours) { secret apiKey { id name prefix previousSecretExpiresAt } }
  }
`);

export const RevokeApiKeyDoc = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) { id status }
  }
`);

// The pickers of list filters: a few names matching what was typed.
export const PickAffiliatesDoc = graphql(`
  query PickAffiliates($search: String, $first: Int) {
    affiliates(filter: { search: $search }, first: $first) { totalCount nodes { id code name } }
  }
`);

export const PickCampaignsDoc = graphql(`
  query PickCampaigns($search: String, $first: Int) {
    campaigns(filter: { search: $search }, first: $first) { totalCount nodes { id code name } }
  }
`);

export const PendingCountDoc = graphql(`
  query PendingCount($filter: CommissionFilter) {
    commissions(filter: $filter, first: 1) { totalCount }
  }
`);

export const CalculatePendingDoc = graphql(`
  mutation CalculatePending($filter: CommissionFilter) {
    calculatePendingCommissions(filter: $filter) { calculated remaining skippedCount skipped { commissionId reason } }
  }
`);

// Joining the programme: the public application page, invites, review.
export const ApplyDoc = graphql(`
  mutation Apply($input: AffiliateApplicationInput!) {
    applyAsAffiliate(input: $input) { approved code }
  }
`);

export const InviteInfoDoc = graphql(`
  query InviteInfo($token: String!) { affiliateInvite(token: $token) { email expiresAt } }
`);

export const InvitesDoc = graphql(`
  query Invites { affiliateInvites { id email note createdAt expiresAt usedAt affiliateId status } }
`);

export const CreateInviteDoc = graphql(`
  mutation CreateInvite($email: String, $note: String, $days: Int) {
    createAffiliateInvite(email: $email, note: $note, days: $days) { url invite { id status expiresAt } }
  }
`);

export const RevokeInviteDoc = graphql(`
  mutation RevokeInvite($id: ID!) { revokeAffiliateInvite(id: $id) { id status } }
`);

export const ApplicationDoc = graphql(`
  query Application($affiliateId: ID!) {
    affiliateApplication(affiliateId: $affiliateId) { website message invited appliedAt reviewedAt rejectionReason }
  }
`);

export const ApproveApplicationDoc = graphql(`
  mutation ApproveApplication($id: ID!) { approveAffiliateApplication(id: $id) { id status } }
`);

export const RejectApplicationDoc = graphql(`
  mutation RejectApplication($id: ID!, $reason: String!) { rejectAffiliateApplication(id: $id, reason: $reason) { id status } }
`);

// Coupon codes of an affiliate, and what they brought.
export const CouponsDoc = graphql(`
  query Coupons($affiliateId: ID!) {
    coupons(affiliateId: $affiliateId) { id code stripePromotionCode active createdAt deactivatedAt }
  }
`);

export const CreateCouponDoc = graphql(`
  mutation CreateCoupon($affiliateId: ID!, $code: String!, $stripePromotionCode: String) {
    createCoupon(affiliateId: $affiliateId, code: $code, stripePromotionCode: $stripePromotionCode) { id code }
  }
`);

export const DeactivateCouponDoc = graphql(`
  mutation DeactivateCoupon($id: ID!) { deactivateCoupon(id: $id) { id active } }
`);

export const CouponUsageDoc = graphql(`
  query CouponUsage($period: String!) {
    couponUsage(period: $period) { coupon { id code affiliateId active } orders revenue { currency amount } }
  }
`);

export const CustomerSubscriptionsDoc = graphql(`
  query CustomerSubscriptions($filter: SubscriptionFilter, $first: Int, $after: String) {
    customerSubscriptions(filter: $filter, first: $first, after: $after) {
      totalCount
      nodes {
        id stripeSubscriptionId stripeCustomerId status currency startedAt earnsUntil renewals canceledAt
        affiliate { id name } campaign { id name }
        invoices { stripeInvoiceId billingReason amount currency status outcome reason occurredAt commission commissionStatus }
      }
    }
  }
`);

export const CommissionTiersDoc = graphql(`
  query CommissionTiers {
    commissionTiers { id name currency minSales rate bonus }
    tierAwards { period amount currency sales createdAt affiliate { id name } }
  }
`);

export const CreateCommissionTierDoc = graphql(`
  mutation CreateCommissionTier($input: CommissionTierInput!) {
    createCommissionTier(input: $input) { id name }
  }
`);

export const DeleteCommissionTierDoc = graphql(`
  mutation DeleteCommissionTier($id: ID!) { deleteCommissionTier(id: $id) }
`);

export const AwardTierBonusesDoc = graphql(`
  mutation AwardTierBonuses($period: String!) {
    awardTierBonuses(period: $period) { amount currency affiliate { name } }
  }
`);

export const TierProgressDoc = graphql(`
  query TierProgress {
    tierProgress { currency period sales toNext tier { name rate bonus } nextTier { name minSales rate bonus } }
  }
`);
