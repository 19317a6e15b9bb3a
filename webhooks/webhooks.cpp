#include "webhooks/webhooks.hpp"
