"""clerk_portal: the billing portal of Clerk Chat."""
